import { GraphQLError } from "graphql";
import { BrokkrError, fromDatabaseError } from "../../errors.js";

/** How an operation ended, for details: the error's code (and field), never its message. */
export function outcomeOf(err: unknown): Record<string, unknown> {
  if (err === undefined) return { outcome: "success" };
  const coded = fromDatabaseError(err);
  if (coded instanceof BrokkrError)
    return {
      outcome: "failure",
      error: coded.code,
      ...(coded.reason ? { reason: coded.reason } : {}),
      ...(coded.field ? { field: coded.field } : {}),
    };
  const code = err instanceof GraphQLError ? err.extensions?.code : undefined;
  return { outcome: "failure", error: typeof code === "string" ? code : "INTERNAL_SERVER_ERROR" };
}
