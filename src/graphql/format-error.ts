import type { ApolloServerPlugin } from "@apollo/server";
import { unwrapResolverError } from "@apollo/server/errors";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { BrokkrError, HTTP_STATUS, RETRY_AFTER_SECONDS, fromDatabaseError } from "../errors.js";
import { describeFault } from "../faults.js";
import { moduleLogger } from "../logger.js";

const log = moduleLogger("graphql");

/** A coded error wrapped by Apollo (context creation) or graphql-js (resolvers). */
function innermost(error: unknown): unknown {
  const unwrapped = unwrapResolverError(error);
  const wrapped = typeof unwrapped === "object" && unwrapped !== null && "originalError" in unwrapped;
  const inner = wrapped ? unwrapped.originalError : undefined;
  return inner instanceof BrokkrError ? inner : unwrapped;
}

/**
 * The one place errors become client-visible: coded domain errors keep their message and
 * field (a database that is down or too slow becomes SERVICE_UNAVAILABLE); GraphQL's own
 * validation errors pass through; anything else is logged in full and shown as "Internal
 * server error" (no stack traces, no SQL, no hosts).
 */
export function formatGraphQLError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const raw = innermost(error);
  const original = fromDatabaseError(raw);
  if (original !== raw && original instanceof BrokkrError && original.code === "SERVICE_UNAVAILABLE") {
    log.warn({ reason: describeFault(raw) }, "database unavailable for a GraphQL operation");
  }
  const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };
  if (original instanceof BrokkrError) {
    if (original.code === "INTERNAL_SERVER_ERROR") return internal(formatted);
    return {
      ...base,
      message: original.message,
      extensions: { code: original.code, ...(original.field ? { field: original.field } : {}), ...original.extra },
    };
  }
  const code = formatted.extensions?.code;
  // By name, not instanceof: under Vitest, graphql may load twice (ESM and CJS copies).
  const isGraphQLError = (e: unknown) =>
    typeof e === "object" && e !== null && "extensions" in e && "locations" in e && !(e instanceof BrokkrError);
  if (
    typeof code === "string" &&
    code !== "INTERNAL_SERVER_ERROR" &&
    (isGraphQLError(original) || !(original instanceof Error))
  ) {
    const field = formatted.extensions?.field;
    return { ...base, extensions: { code, ...(typeof field === "string" ? { field } : {}) } };
  }
  // Request errors (parse, validation, variable coercion) have no path: the client's fault.
  if (isGraphQLError(error) && !formatted.path) {
    return {
      ...base,
      extensions: { code: typeof code === "string" && code !== "INTERNAL_SERVER_ERROR" ? code : "BAD_USER_INPUT" },
    };
  }
  log.error({ err: original }, "unexpected error in a GraphQL operation");
  return internal(formatted);
}

function internal(formatted: GraphQLFormattedError): GraphQLFormattedError {
  return { message: "Internal server error", path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
}

const retryHead = () => ({
  status: HTTP_STATUS.SERVICE_UNAVAILABLE,
  headers: new Map([["retry-after", String(RETRY_AFTER_SECONDS)]]),
});

/**
 * What the HTTP context factory throws when it cannot build a context (identity lookup
 * failed): Apollo would call any such error "Context creation failed: <driver message>"
 * with HTTP 500. A database fault becomes SERVICE_UNAVAILABLE with 503 and Retry-After.
 */
export function contextCreationError(err: unknown): GraphQLError {
  const coded = fromDatabaseError(err);
  if (coded instanceof BrokkrError && coded.code === "SERVICE_UNAVAILABLE") {
    return new GraphQLError(coded.message, { originalError: coded, extensions: { code: coded.code, http: retryHead() } });
  }
  if (coded instanceof BrokkrError)
    return new GraphQLError(coded.message, { originalError: coded, extensions: { code: coded.code } });
  log.error({ err }, "building a GraphQL context failed");
  return new GraphQLError("Internal server error", {
    originalError: new BrokkrError("INTERNAL_SERVER_ERROR", "Internal server error"),
    extensions: { code: "INTERNAL_SERVER_ERROR" },
  });
}

/** A response carrying SERVICE_UNAVAILABLE is a 503 with Retry-After, so clients and proxies retry. */
export function faultHead(errors: readonly GraphQLFormattedError[] | undefined) {
  return errors?.some((e) => e.extensions?.code === "SERVICE_UNAVAILABLE") ? retryHead() : undefined;
}

export const faultStatusPlugin: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        const head = faultHead(
          response.body.kind === "single" ? response.body.singleResult.errors : response.body.initialResult.errors,
        );
        if (!head) return;
        response.http.status = head.status;
        for (const [name, value] of head.headers) response.http.headers.set(name, value);
      },
    };
  },
};

/**
 * Apollo's normalizeAndFormatErrors (not exported by @apollo/server), for results the fast
 * path ran (fast-http.ts): each error as a GraphQLError with a code (INTERNAL_SERVER_ERROR when
 * it has none), its `http` extension taken out into the response's status and headers, then
 * the formatter; a formatter that throws yields "Internal server error". No stack traces.
 */
export function formatExecutionErrors(
  errors: readonly unknown[],
  format: (f: GraphQLFormattedError, e: unknown) => GraphQLFormattedError,
) {
  const head: { status?: number; headers: [string, string][] } = { headers: [] };
  const formatted = errors.map((error) => {
    try {
      const graphqlError =
        error instanceof GraphQLError
          ? error
          : error instanceof Error
            ? new GraphQLError(error.message, { originalError: error })
            : new GraphQLError(`Unexpected error value: ${String(error)}`);
      const extensions: Record<string, unknown> = {
        ...graphqlError.extensions,
        code: graphqlError.extensions.code ?? "INTERNAL_SERVER_ERROR",
      };
      const http = extensions.http as { status?: unknown; headers?: unknown } | undefined;
      if (http && typeof http === "object" && (http.status === undefined || typeof http.status === "number")) {
        if (http.headers === undefined || http.headers instanceof Map) {
          if (typeof http.status === "number") head.status = http.status;
          for (const [name, value] of (http.headers as Map<string, string> | undefined) ?? []) head.headers.push([name, value]);
          delete extensions.http;
        }
      }
      return format({ ...graphqlError.toJSON(), extensions }, error);
    } catch {
      return { message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } };
    }
  });
  return { errors: formatted, head };
}
