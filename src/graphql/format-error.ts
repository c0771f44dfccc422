import { unwrapResolverError } from "@apollo/server/errors";
import type { GraphQLFormattedError } from "graphql";
import { BrokkrError, fromDatabaseError } from "../errors.js";
import { moduleLogger } from "../logger.js";

const log = moduleLogger("graphql");

/**
 * The one place errors become client-visible: coded domain errors keep their message and
 * field; GraphQL's own validation errors pass through; anything else is logged in full and
 * shown as "Internal server error" (no stack traces, no SQL).
 */
export function formatGraphQLError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = fromDatabaseError(unwrapResolverError(error));
  const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };
  if (original instanceof BrokkrError) {
    return {
      ...base,
      message: original.message,
      extensions: { code: original.code, ...(original.field ? { field: original.field } : {}) },
    };
  }
  const code = formatted.extensions?.code;
  // By name, not instanceof: under Vitest, graphql may load twice (ESM and CJS copies).
  const isGraphQLError = (e: unknown) =>
    typeof e === "object" && e !== null && "extensions" in e && "locations" in e && !(e instanceof BrokkrError);
  if (typeof code === "string" && code !== "INTERNAL_SERVER_ERROR" && (isGraphQLError(original) || !(original instanceof Error))) {
    return { ...base, extensions: { code } };
  }
  // Request errors (parse, validation, variable coercion) have no path: the client's fault.
  if (isGraphQLError(error) && !formatted.path) {
    return { ...base, extensions: { code: typeof code === "string" && code !== "INTERNAL_SERVER_ERROR" ? code : "BAD_USER_INPUT" } };
  }
  log.error({ err: original }, "unexpected error in a GraphQL operation");
  return { message: "Internal server error", path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
}
