import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, type DocumentNode, type GraphQLSchema, type ValidationRule } from "graphql";
import depthLimit from "graphql-depth-limit";
import { getComplexity, simpleEstimator, type ComplexityEstimator } from "graphql-query-complexity";

/** A connection costs its children times the page size it asks for (`first`, default 50). */
const pageSizeEstimator: ComplexityEstimator = ({ args, childComplexity, field }) => {
  if (!/Connection!?$/.test(String(field.type))) return undefined;
  const first = typeof args.first === "number" ? args.first : 50;
  return 1 + childComplexity * Math.max(1, first);
};

export function depthLimitRule(maxDepth: number): ValidationRule {
  return depthLimit(maxDepth) as ValidationRule;
}

export function queryCost(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>, operationName?: string) {
  return getComplexity({
    schema,
    query: document,
    variables,
    operationName,
    estimators: [pageSizeEstimator, simpleEstimator({ defaultComplexity: 1 })],
  });
}

/** Refuses operations whose estimated cost exceeds `maxCost`, before any resolver runs. */
export function costLimitPlugin(maxCost: number): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema }) {
          let cost: number;
          try {
            cost = queryCost(schema, document, request.variables ?? {}, request.operationName ?? undefined);
          } catch (err) {
            // The estimator coerces variables first; bad ones are the caller's input error. (Its
            // GraphQLError may come from another copy of graphql, so no instanceof.)
            if ((err as Error | undefined)?.name === "GraphQLError") {
              throw new GraphQLError((err as Error).message, { extensions: { code: "BAD_USER_INPUT", http: { status: 400 } } });
            }
            throw err;
          }
          if (cost > maxCost) {
            throw new GraphQLError(`query cost ${cost} exceeds the limit of ${maxCost}`, {
              extensions: { code: "QUERY_TOO_COSTLY", http: { status: 400 } },
            });
          }
        },
      };
    },
  };
}
