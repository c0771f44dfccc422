import type { GraphQLFormattedError } from "graphql";
import { formatGraphQLError } from "./format-error.js";

export type ErrorFormatter = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

// graphql-js 16 suggests names in validation and variable-coercion messages ("Did you mean
// "labels"?", "Did you mean the enum value "ACTIVE"?"); with introspection off they leak the schema.
const SUGGESTION = / ?Did you mean [^?]*\?/g;

/** The formatter both transports use: formatGraphQLError, then schema names hidden if asked. */
export function clientErrorFormatter(hideSchemaNames: boolean): ErrorFormatter {
  if (!hideSchemaNames) return formatGraphQLError;
  return (formatted, error) => {
    const f = formatGraphQLError(formatted, error);
    return { ...f, message: f.message.replace(SUGGESTION, "") };
  };
}
