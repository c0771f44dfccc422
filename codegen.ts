import type { CodegenConfig } from "@graphql-codegen/cli";

// Typed resolver signatures from schema.graphql; a GraphQL type's parent is its Prisma row.
const config: CodegenConfig = {
  schema: "schema.graphql",
  generates: {
    "src/generated/graphql.ts": {
      plugins: ["typescript", "typescript-resolvers"],
      config: {
        useIndexSignature: true,
        contextType: "../graphql/context.js#GraphQLContext",
        scalars: { DateTime: "Date", BigInt: "bigint" },
        enumsAsTypes: true,
        avoidOptionals: { field: true, inputValue: false, object: false, defaultValue: false },
        mappers: {
          Generator: "../generated/prisma/client.js#Generator as GeneratorRow",
          Stack: "../generated/prisma/client.js#Stack as StackRow",
          Agent: "../generated/prisma/client.js#Agent as AgentRow",
          DeploymentObject: "../generated/prisma/client.js#DeploymentObject as DeploymentObjectRow",
          AgentEvent: "../generated/prisma/client.js#AgentEvent as AgentEventRow",
          AgentDeploymentEvent: "../delivery/types.js#AgentDeploymentEventModel",
          TargetStateEntry: "../delivery/types.js#TargetStateEntryModel",
        },
      },
    },
  },
};
export default config;
