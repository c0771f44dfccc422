import type { ApolloServerPlugin } from "@apollo/server";
import type { GraphQLFormattedError } from "graphql";
import type { GraphQLContext } from "./context.js";
import { limitError, operationLimitErrors, type QueryLimits } from "./limits.js";
import { jsonBytesOver, responseTooLarge } from "./response-size.js";

/**
 * The HTTP side of the query limits. Apollo validates with graphql-js's standard rules first;
 * the limits run after that (didResolveOperation), so a cyclic or unknown fragment is a clean
 * GRAPHQL_VALIDATION_FAILED and no limit walker ever sees an invalid document. Websockets run
 * the same operationLimitErrors in ws.ts.
 */
export function limitsPlugin(limits: QueryLimits, format: (e: GraphQLFormattedError, err: unknown) => GraphQLFormattedError): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema, operation }) {
          if (operation?.operation === "subscription") {
            throw limitError("BAD_REQUEST", "subscriptions are served over websockets (graphql-transport-ws), not over HTTP");
          }
          const [first] = operationLimitErrors(schema, document, request.variables ?? {}, request.operationName ?? undefined, limits);
          if (first) throw first;
        },
        async willSendResponse({ response }) {
          if (response.body.kind !== "single" || !jsonBytesOver(response.body.singleResult, limits.maxResponseBytes)) return;
          const error = responseTooLarge(limits.maxResponseBytes);
          response.body.singleResult = { errors: [format(error.toJSON(), error)] };
          response.http.status = 400;
        },
      };
    },
  };
}
