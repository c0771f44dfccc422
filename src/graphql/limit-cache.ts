import { Kind, type DocumentNode, type GraphQLError, type GraphQLSchema, type TypeNode } from "graphql";
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
  textVariables: Map<string, Set<string>>;
}

const perDocument = new WeakMap<DocumentNode, PerDocument>();

/** Distinct variable shapes kept per document: past it, requests are checked afresh. */
const MAX_SHAPES = 32;

/**
 * Strings that cannot change the cost keep no identity in the key: the estimators read only
 * numbers (`first`) and booleans (@include/@skip), and any string coerces to a String or ID
 * variable, so those (and long strings anywhere: YAML, names) become a marker; other short
 * strings stay, as an enum value or a BigInt string decides whether variables coerce.
 */
const LONG_STRING = 64;
const MARK = "\u0000s";

function namedType(type: TypeNode): string {
  return type.kind === Kind.NAMED_TYPE ? type.name.value : namedType(type.type);
}

/** Per operation name, its variables declared String or ID (lists of them too). */
function textVariables(document: DocumentNode): Map<string, Set<string>> {
  const byOperation = new Map<string, Set<string>>();
  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    const names = (def.variableDefinitions ?? []).filter((v) => ["String", "ID"].includes(namedType(v.type)));
    byOperation.set(def.name?.value ?? "", new Set(names.map((v) => v.variable.name.value)));
  }
  return byOperation;
}

function shapeOf(entry: PerDocument, variables: Record<string, unknown>, operationName: string | undefined): string {
  const text =
    entry.textVariables.get(operationName ?? "") ??
    (entry.textVariables.size === 1 ? [...entry.textVariables.values()][0] : undefined);
  // The common case (createDeploymentObject's stackId and YAML): only strings, each a String or
  // ID variable, so only the names shape the cost. Not JSON, so never equal to a shape below.
  const names = Object.keys(variables);
  if (names.every((name) => text?.has(name) && typeof variables[name] === "string"))
    return `${operationName ?? ""}\u0000text:${names.join("\u0000")}`;
  const marked = Object.fromEntries(
    Object.entries(variables).map(([name, value]) => {
      if (!text?.has(name)) return [name, value];
      if (typeof value === "string") return [name, MARK];
      return [name, Array.isArray(value) ? value.map((v) => (typeof v === "string" ? MARK : v)) : value];
    }),
  );
  return `${operationName ?? ""}\u0000${JSON.stringify(marked, (_, v) => (typeof v === "string" && v.length > LONG_STRING ? MARK : v))}`;
}

export function cachedOperationLimitErrors(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
  operationName: string | undefined,
  limits: QueryLimits,
): GraphQLError[] {
  let entry = perDocument.get(document);
  if (!entry || entry.limits !== limits) {
    entry = { limits, errors: documentLimitErrors(document, limits), costs: new Map(), textVariables: textVariables(document) };
    perDocument.set(document, entry);
  }
  if (entry.errors.length > 0) return entry.errors;
  const shape = shapeOf(entry, variables, operationName);
  // Only a passing verdict is kept: a refusal is computed again, with its message for these variables.
  if (entry.costs.get(shape)) return [];
  const errors = requestLimitErrors(schema, document, variables, operationName, limits);
  if (errors.length === 0 && entry.costs.size < MAX_SHAPES) entry.costs.set(shape, true);
  return errors;
}
