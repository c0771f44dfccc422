import { GraphQLError, getNullableType, isListType, Kind, parse, visit, type DocumentNode, type GraphQLSchema } from "graphql";
import { getComplexity, simpleEstimator, type ComplexityEstimator } from "graphql-query-complexity";
import type { BrokerConfig } from "../config.js";
import { operationShapes } from "./shape.js";

// The longest list any argument, input field or variable may carry: one number, defined with the
// input rules, so GraphQL and the REST input checks refuse alike.
import { MAX_LIST_ARGUMENT } from "../validation.js";

export { MAX_LIST_ARGUMENT };

/**
 * Declared upper sizes of the lists that are not paginated, so cost counts them by their real
 * size rather than as 1. Lists not named here count as MAX_LIST_ARGUMENT.
 */
const LIST_SIZES: Record<string, number> = {
  "Stack.labels": MAX_LIST_ARGUMENT,
  "Stack.annotations": MAX_LIST_ARGUMENT,
  "Agent.labels": MAX_LIST_ARGUMENT,
  "Agent.annotations": MAX_LIST_ARGUMENT,
  "Stack.targetedAgents": 50,
  "Agent.targets": 50,
  "Agent.registeredGenerators": 50,
  "Query.targetState": 500,
};

export type QueryLimits = Pick<
  BrokerConfig["broker"],
  | "maxDocumentBytes"
  | "maxTokens"
  | "maxFragmentSpreads"
  | "maxQueryDepth"
  | "maxSelections"
  | "maxAliases"
  | "maxDirectives"
  | "maxMutationsPerRequest"
  | "maxQueryCost"
  | "maxResponseBytes"
>;

/** A refusal with its own code; HTTP answers 400. */
export function limitError(code: string, message: string, field?: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...(field ? { field } : {}), http: { status: 400 } } });
}

/** Checked before parsing: bytes, not characters, as the body limit counts. */
export function documentSizeError(query: unknown, limits: QueryLimits): GraphQLError | undefined {
  if (typeof query !== "string") return undefined;
  const bytes = Buffer.byteLength(query);
  if (bytes <= limits.maxDocumentBytes) return undefined;
  return limitError("DOCUMENT_TOO_LARGE", `the document has ${bytes} bytes; the limit is ${limits.maxDocumentBytes}`);
}

/** graphql-js stops parsing past this many tokens, so parse time is bounded too. */
export function parseOptions(limits: QueryLimits) {
  return { maxTokens: limits.maxTokens };
}

/**
 * Everything before standard validation, for both transports: size, tokens (parse), then the
 * counts that bound validation's own cost. Linear in the document's size.
 */
export function parseWithinLimits(query: string, limits: QueryLimits): DocumentNode | GraphQLError[] {
  const tooLarge = documentSizeError(query, limits);
  if (tooLarge) return [tooLarge];
  let document: DocumentNode;
  try {
    document = parse(query, parseOptions(limits));
  } catch (err) {
    // Syntax errors and the token limit, coded as Apollo codes them.
    return [limitError("GRAPHQL_PARSE_FAILED", err instanceof Error ? err.message : String(err))];
  }
  const early = preValidationErrors(document, limits);
  return early.length > 0 ? early : document;
}

/**
 * Fields one selection set may repeat under one response name (`{ me { id } me { role } }`
 * merges two). graphql-js's OverlappingFieldsCanBeMerged compares such fields pairwise: 250
 * repeats of `me { id }` in 1,000 tokens took 300 ms to validate here.
 */
const MAX_REPEATED_FIELD = 3;

/**
 * Counts taken before standard validation, because that validation itself is what they bound
 * (field merging compares repeated fields and spread fragments pairwise). They read each node
 * once and never follow a spread, so unknown and cyclic fragments are left to validation.
 */
export function preValidationErrors(document: DocumentNode, limits: QueryLimits): GraphQLError[] {
  let spreads = 0;
  let repeated = 0;
  visit(document, {
    // Inline fragments merge into their parent's fields just as spreads do.
    FragmentSpread() {
      spreads++;
    },
    InlineFragment() {
      spreads++;
    },
    SelectionSet(node) {
      const names = new Map<string, number>();
      for (const sel of node.selections) {
        if (sel.kind !== Kind.FIELD) continue;
        const name = (sel.alias ?? sel.name).value;
        const count = (names.get(name) ?? 0) + 1;
        names.set(name, count);
        repeated = Math.max(repeated, count);
      }
    },
  });
  if (spreads > limits.maxFragmentSpreads) {
    return [
      limitError("TOO_MANY_FRAGMENTS", `the document uses fragments ${spreads} times; the limit is ${limits.maxFragmentSpreads}`),
    ];
  }
  if (repeated > MAX_REPEATED_FIELD) {
    return [
      limitError(
        "TOO_MANY_SELECTIONS",
        `a selection set repeats one field ${repeated} times; the limit is ${MAX_REPEATED_FIELD}`,
      ),
    ];
  }
  return [];
}

/**
 * Limits that depend on the document alone, in linear time (see operationShapes). Run only
 * after graphql-js's standard validation, so cycles and unknown fragments are already refused
 * as GRAPHQL_VALIDATION_FAILED; over websockets the result is cached with the document.
 */
export function documentLimitErrors(document: DocumentNode, limits: QueryLimits): GraphQLError[] {
  for (const [operation, shape] of operationShapes(document)) {
    const checks: [boolean, string, string][] = [
      [
        shape.selections > limits.maxSelections,
        "TOO_MANY_SELECTIONS",
        `selects ${shape.selections} fields (fragments expanded); the limit is ${limits.maxSelections}`,
      ],
      [
        shape.depth > limits.maxQueryDepth,
        "QUERY_TOO_DEEP",
        `has depth ${shape.depth}, which exceeds maximum operation depth ${limits.maxQueryDepth}`,
      ],
      [shape.aliases > limits.maxAliases, "TOO_MANY_ALIASES", `uses ${shape.aliases} aliases; the limit is ${limits.maxAliases}`],
      [
        shape.directives > limits.maxDirectives,
        "TOO_MANY_DIRECTIVES",
        `uses ${shape.directives} directives; the limit is ${limits.maxDirectives}`,
      ],
      [
        operation.operation === "mutation" && shape.rootFields > limits.maxMutationsPerRequest,
        "TOO_MANY_MUTATIONS",
        `carries ${shape.rootFields} mutations; the limit is ${limits.maxMutationsPerRequest} per request`,
      ],
    ];
    const failed = checks.find(([over]) => over);
    if (failed) return [limitError(failed[1], `operation ${operation.name?.value ?? "(anonymous)"} ${failed[2]}`)];
  }
  let longList: { length: number; field: string } | undefined;
  visit(document, {
    ListValue(node, _key, parent, _path, ancestors) {
      if (longList || node.values.length <= MAX_LIST_ARGUMENT) return;
      // Name the list by its argument and input fields, e.g. filter.labels.
      const names = [...ancestors, parent].flatMap((a) =>
        a && "kind" in a && (a.kind === Kind.ARGUMENT || a.kind === Kind.OBJECT_FIELD) ? [a.name.value] : [],
      );
      longList = { length: node.values.length, field: names.join(".") || "argument" };
    },
  });
  return longList === undefined ? [] : [listTooLong(longList)];
}

function listTooLong({ length, field }: { length: number; field: string }): GraphQLError {
  return limitError("LIST_TOO_LONG", `${field} has ${length} items; the limit is ${MAX_LIST_ARGUMENT}`, field);
}

/** The longest array anywhere in the variables, with its path (parsed JSON: no cycles; no recursion). */
function longestList(root: unknown): { length: number; field: string } {
  let longest = { length: 0, field: "" };
  const stack: [unknown, string][] = [[root, ""]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [value, path] = item;
    if (Array.isArray(value) && value.length > longest.length) longest = { length: value.length, field: path };
    if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value))
        stack.push([v, Array.isArray(value) ? `${path}[${k}]` : path ? `${path}.${k}` : `$${k}`]);
    }
  }
  return longest;
}

/** Limits that depend on the variables too: list lengths, then cost. */
export function requestLimitErrors(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
  operationName: string | undefined,
  limits: QueryLimits,
): GraphQLError[] {
  const longest = longestList(variables);
  if (longest.length > MAX_LIST_ARGUMENT) return [listTooLong(longest)];
  let cost: number;
  try {
    cost = queryCost(schema, document, variables, operationName);
  } catch (err) {
    // The estimator coerces variables first; bad ones are the caller's input error. (Its
    // GraphQLError may come from another copy of graphql: its name, not instanceof GraphQLError.)
    if (err instanceof Error && err.name === "GraphQLError") return [limitError("BAD_USER_INPUT", err.message)];
    throw err;
  }
  if (cost <= limits.maxQueryCost) return [];
  return [limitError("QUERY_TOO_COSTLY", `query cost ${cost} exceeds the limit of ${limits.maxQueryCost}`)];
}

/** A connection costs its children times the page size it asks for (`first`, default 50). */
const pageSizeEstimator: ComplexityEstimator = ({ args, childComplexity, field }) => {
  if (!/Connection!?$/.test(String(field.type))) return undefined;
  const first = typeof args.first === "number" ? args.first : 50;
  return 1 + childComplexity * Math.max(1, first);
};

/** A plain list costs each item (or its selection) times its declared size. */
const listSizeEstimator: ComplexityEstimator = ({ childComplexity, field, type }) => {
  if (!isListType(getNullableType(field.type))) return undefined;
  // Introspection lists (types, fields, args) are the schema's own, answered from memory.
  if (type.name.startsWith("__")) return 1 + childComplexity;
  // A connection's `edges` is paid for by the connection's page size.
  if (type.name.endsWith("Connection")) return undefined;
  const size = LIST_SIZES[`${type.name}.${field.name}`] ?? MAX_LIST_ARGUMENT;
  return 1 + Math.max(1, childComplexity) * size;
};

export function queryCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
  operationName?: string,
) {
  return getComplexity({
    schema,
    query: document,
    variables,
    operationName,
    estimators: [pageSizeEstimator, listSizeEstimator, simpleEstimator({ defaultComplexity: 1 })],
  });
}

/** The one limits check after standard validation, for HTTP and websockets alike. */
export function operationLimitErrors(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
  operationName: string | undefined,
  limits: QueryLimits,
): GraphQLError[] {
  const errors = documentLimitErrors(document, limits);
  return errors.length > 0 ? errors : requestLimitErrors(schema, document, variables, operationName, limits);
}
