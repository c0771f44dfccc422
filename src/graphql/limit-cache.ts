import type { DocumentNode, GraphQLError, GraphQLSchema } from "graphql";
import { documentLimitErrors, type QueryLimits, requestLimitErrors } from "./limits.js";

/**
 * The limits check of every HTTP request, without redoing per request what the document alone
 * decides. Apollo's document store hands each request with the same query text the same
 * DocumentNode, so results are kept per document object (and go when Apollo drops it): the
 * document's own limits, and its cost per shape of the variables. Before this, the two walks
 * took about 7% of the broker's CPU under 16 writers of createDeploymentObject.
 */
interface PerDocument {
  limits: QueryLimits;
  errors: GraphQLError[];
  costs: Map<string, boolean>;
}

const perDocument = new WeakMap<DocumentNode, PerDocument>();

/** Distinct variable shapes kept per document: past it, requests are checked afresh. */
const MAX_SHAPES = 32;

/**
 * Strings that cannot change the cost keep no identity in the key: the estimators read only
 * numbers (`first`) and booleans (@include/@skip), and long strings (YAML, names) are neither;
 * short strings stay, as an enum value or a BigInt string decides whether variables coerce.
 */
const LONG_STRING = 64;
const shapeOf = (variables: Record<string, unknown>, operationName: string | undefined) =>
  `${operationName ?? ""}\u0000${JSON.stringify(variables, (_, v) => (typeof v === "string" && v.length > LONG_STRING ? "\u0000long" : v))}`;

export function cachedOperationLimitErrors(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
  operationName: string | undefined,
  limits: QueryLimits,
): GraphQLError[] {
  let entry = perDocument.get(document);
  if (!entry || entry.limits !== limits) {
    entry = { limits, errors: documentLimitErrors(document, limits), costs: new Map() };
    perDocument.set(document, entry);
  }
  if (entry.errors.length > 0) return entry.errors;
  const shape = shapeOf(variables, operationName);
  // Only a passing verdict is kept: a refusal is computed again, with its message for these variables.
  if (entry.costs.get(shape)) return [];
  const errors = requestLimitErrors(schema, document, variables, operationName, limits);
  if (errors.length === 0 && entry.costs.size < MAX_SHAPES) entry.costs.set(shape, true);
  return errors;
}
