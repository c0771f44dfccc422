import {
  Kind,
  isScalarType,
  type DocumentNode,
  type GraphQLError,
  type GraphQLScalarType,
  type GraphQLSchema,
  type TypeNode,
} from "graphql";
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
  valueFreeVariables: Map<string, Map<string, GraphQLScalarType | null>>;
}

const perDocument = new WeakMap<DocumentNode, PerDocument>();

/** Distinct variable shapes kept per document: past it, requests are checked afresh. */
const MAX_SHAPES = 32;

/**
 * Strings that cannot change the cost keep no identity in the key: the estimators read only
 * numbers (`first`) and booleans (@include/@skip), and any string coerces to a String or ID
 * variable, so those (and long strings anywhere: YAML, names) become a marker; other short
 * strings stay, as an enum value decides whether variables coerce. A variable of a custom
 * scalar (BigInt, DateTime) becomes the marker when its scalar accepts the value, and stays as
 * it is when not: then every agent's cursor is one shape, not one per cursor.
 */
const LONG_STRING = 64;
const MARK = "\u0000s";

function namedType(type: TypeNode): string {
  return type.kind === Kind.NAMED_TYPE ? type.name.value : namedType(type.type);
}

/** Scalars whose values no estimator reads: String and ID (null: any string), and custom ones but JSON. */
function valueFreeScalar(schema: GraphQLSchema, name: string): GraphQLScalarType | null | undefined {
  if (name === "String" || name === "ID") return null;
  const type = schema.getType(name);
  return isScalarType(type) && !["Int", "Float", "Boolean", "JSON"].includes(name) ? type : undefined;
}

/** Per operation name, its variables whose value cannot change the cost (lists of them too), with their scalar. */
function valueFreeVariables(schema: GraphQLSchema, document: DocumentNode): Map<string, Map<string, GraphQLScalarType | null>> {
  const byOperation = new Map<string, Map<string, GraphQLScalarType | null>>();
  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    const names = new Map<string, GraphQLScalarType | null>();
    for (const v of def.variableDefinitions ?? []) {
      const scalar = valueFreeScalar(schema, namedType(v.type));
      if (scalar !== undefined) names.set(v.variable.name.value, scalar);
    }
    byOperation.set(def.name?.value ?? "", names);
  }
  return byOperation;
}

/** The marker for a value of a variable whose value cannot change the cost, when it coerces. */
function marked(scalar: GraphQLScalarType | null, value: unknown): unknown {
  if (scalar === null) return typeof value === "string" ? MARK : value;
  try {
    scalar.parseValue(value);
    return MARK;
  } catch {
    return value;
  }
}

function shapeOf(entry: PerDocument, variables: Record<string, unknown>, operationName: string | undefined): string {
  const valueFree =
    entry.valueFreeVariables.get(operationName ?? "") ??
    (entry.valueFreeVariables.size === 1 ? [...entry.valueFreeVariables.values()][0] : undefined);
  // The common case (createDeploymentObject's stackId and YAML): only strings, each a String or
  // ID variable, so only the names shape the cost. Not JSON, so never equal to a shape below.
  const names = Object.keys(variables);
  if (names.every((name) => valueFree?.get(name) === null && typeof variables[name] === "string"))
    return `${operationName ?? ""}\u0000text:${names.join("\u0000")}`;
  const shape = Object.fromEntries(
    Object.entries(variables).map(([name, value]) => {
      const scalar = valueFree?.get(name);
      if (scalar === undefined || value === null) return [name, value];
      return [name, Array.isArray(value) ? value.map((v) => marked(scalar, v)) : marked(scalar, value)];
    }),
  );
  return `${operationName ?? ""}\u0000${JSON.stringify(shape, (_, v) => (typeof v === "string" && v.length > LONG_STRING ? MARK : v))}`;
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
    entry = {
      limits,
      errors: documentLimitErrors(document, limits),
      costs: new Map(),
      valueFreeVariables: valueFreeVariables(schema, document),
    };
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
