import {
  getOperationAST,
  getVariableValues,
  NoSchemaIntrospectionCustomRule,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLError,
  type GraphQLSchema,
} from "graphql";
import type { BrokerConfig } from "../config.js";
import type { Checked } from "./document-cache.js";
import { cachedOperationLimitErrors } from "./limit-cache.js";
import { documentLimitErrors, parseWithinLimits } from "./limits.js";

export interface FastRequest {
  query: string;
  operationName: string | undefined;
  variables: Record<string, unknown>;
}

/**
 * A query text the fast path may run (fast-http.ts): it passes the early limits, Apollo's
 * validation and the document limits, in the order the usual path checks them. With
 * introspection off, graphql-js's rule refuses at least what Apollo's NoIntrospection does, so
 * a document valid here is valid there. Anything refused is answered by the usual path, which
 * words the refusal.
 */
export function readyDocument(schema: GraphQLSchema, config: BrokerConfig["broker"], query: string): Checked {
  const document = parseWithinLimits(query, config);
  if (Array.isArray(document)) return document;
  const rules = config.introspection ? specifiedRules : [...specifiedRules, NoSchemaIntrospectionCustomRule];
  const invalid: readonly GraphQLError[] = validate(schema, document as DocumentNode, rules);
  if (invalid.length > 0) return invalid;
  const limited = documentLimitErrors(document as DocumentNode, config);
  return limited.length > 0 ? limited : document;
}

/**
 * The request's operation when the usual path would run it as it is: a query or mutation
 * (subscriptions are refused over HTTP), within the limits that depend on the variables (the
 * same cached check as limitsPlugin), with variables that coerce. Else null.
 */
export function fastOperation(
  schema: GraphQLSchema,
  config: BrokerConfig["broker"],
  document: DocumentNode,
  request: FastRequest,
): { document: DocumentNode } | null {
  const operation = getOperationAST(document, request.operationName);
  if (!operation || operation.operation === "subscription") return null;
  try {
    if (cachedOperationLimitErrors(schema, document, request.variables, request.operationName, config).length > 0) return null;
  } catch {
    return null;
  }
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables);
  return coerced.errors ? null : { document };
}
