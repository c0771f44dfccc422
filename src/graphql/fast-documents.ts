import { getOperationAST, getVariableValues, type DocumentNode, type GraphQLSchema } from "graphql";
import type { BrokerConfig } from "../config.js";
import { cachedOperationLimitErrors } from "./limit-cache.js";

export interface FastRequest {
  query: string;
  operationName: string | undefined;
  variables: Record<string, unknown>;
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
