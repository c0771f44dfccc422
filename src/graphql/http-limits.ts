import type { ApolloServerPlugin } from "@apollo/server";
import type { RequestHandler } from "express";
import type { ErrorFormatter } from "./client-errors.js";
import type { GraphQLContext } from "./context.js";
import { DOCUMENT_CACHE_BYTES, DocumentCache } from "./document-cache.js";
import { cachedOperationLimitErrors } from "./limit-cache.js";
import { limitError, parseWithinLimits, type QueryLimits } from "./limits.js";
import { oversizeAnswer } from "./response-size.js";

/**
 * The HTTP side of the query limits that follow Apollo's standard validation
 * (didResolveOperation): a cyclic or unknown fragment is already a clean
 * GRAPHQL_VALIDATION_FAILED, so no limit walker sees an invalid document. Websockets run the
 * same operationLimitErrors in ws.ts. Then the response size, before it is serialised.
 */
export function limitsPlugin(limits: QueryLimits, format: ErrorFormatter): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema, operation }) {
          if (operation?.operation === "subscription") {
            throw limitError("BAD_REQUEST", "subscriptions are served over websockets (graphql-transport-ws), not over HTTP");
          }
          const [first] = cachedOperationLimitErrors(
            schema,
            document,
            request.variables ?? {},
            request.operationName ?? undefined,
            limits,
          );
          if (first) throw first;
        },
        async willSendResponse({ response }) {
          if (response.body.kind !== "single") return;
          const oversize = oversizeAnswer(response.body.singleResult, limits, format);
          if (!oversize) return;
          response.body.singleResult = oversize;
          response.http.status = 400;
        },
      };
    },
  };
}

/**
 * Before Apollo: size, tokens and the counts that bound validation's own cost, answered before
 * the PAK is looked up, kept per query text. (Apollo parses again, from its own document store.)
 */
export function earlyLimits(limits: QueryLimits, format: ErrorFormatter): RequestHandler {
  // The verdict depends on the text alone; generators send the same few texts again and again.
  const checks = new DocumentCache(DOCUMENT_CACHE_BYTES, (query) => parseWithinLimits(query, limits));
  return (req, res, next) => {
    const query: unknown = req.body?.query ?? req.query.query;
    const checked = typeof query === "string" ? checks.get(query) : undefined;
    if (!Array.isArray(checked)) return next();
    res.status(400).json({ errors: checked.map((e) => format(e.toJSON(), e)) });
  };
}
