import type { CodegenConfig } from "@graphql-codegen/cli";

// Typed resolver signatures from schema.graphql; a GraphQL type's parent is its Prisma row.
// And the agent's operations, typed from the same schema, so the agent shares only these types.
const config: CodegenConfig = {
  schema: "schema.graphql",
  generates: {
    "src/generated/graphql.ts": {
      plugins: ["typescript", "typescript-resolvers"],
      config: {
        useIndexSignature: true,
        contextType: "../graphql/context.js#GraphQLContext",
        scalars: { DateTime: "Date", BigInt: "bigint", JSON: "unknown" },
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
          ReachedAgent: "../associations/service.js#StackReach",
          AgentFleetStatus: "../fleet/service.js#FleetStatus",
          DiagnosticRequest: "../diagnostics/store.js#DiagnosticRequestRow",
          DiagnosticResult: "../diagnostics/store.js#DiagnosticResultRow",
          KubeEvent: "../telemetry/store.js#KubeEventRow",
          PodLogLine: "../telemetry/store.js#PodLogRow",
          LogGap: "../telemetry/store.js#LogGapRow",
          WorkOrder: "../work-orders/store.js#WorkOrderModel",
          WorkOrderLogEntry: "../work-orders/store.js#WorkOrderLogRow",
          AgentWorkOrderEvent: "../work-orders/feed.js#AgentWorkOrderEventModel",
          StackTemplate: "../templates/store.js#TemplateRow",
          DeploymentObjectProvenance: "../templates/store.js#ProvenanceRow",
          WebhookSubscription: "../webhooks/service.js#SubscriptionView",
          WebhookDelivery: "../webhooks/delivery-store.js#DeliveryRow",
          WebhookDeliveryAttempt: "../webhooks/delivery-queries.js#AttemptRow",
          User: "../generated/prisma/client.js#User as UserRow",
          DeploymentJob: "../rollouts/job-store.js#JobRow",
          DeploymentTask: "../rollouts/task-store.js#TaskRow",
          EvidencePacket: "../evidence/store.js#EvidencePacketRow",
          EvidenceSigningKey: "../evidence/store.js#SigningKeyRow",
          Promotion: "../promotions/store.js#PromotionRow",
          PromotionApproval: "../promotions/store.js#ApprovalRow",
          PromotionRequester: "../promotions/queries.js#RequesterModel",
          VersionSticker: "../stickers/store.js#StickerRow",
          ReleaseContext: "../stickers/store.js#ReleaseContextRow",
          Environment: "../environments/store.js#EnvironmentRow",
          FreezeWindow: "../environments/input.js#FreezeWindowJson",
          Component: "../components/store.js#ComponentRow",
          ComponentVersion: "../components/store.js#ComponentVersionRow",
          Release: "../releases/store.js#ReleaseRow",
          ReleaseComponent: "../releases/store.js#ReleaseComponentLink",
        },
      },
    },
    "agent/generated/operations.ts": {
      documents: "agent/broker/operations.graphql",
      plugins: ["typescript-operations", "typed-document-node"],
      config: {
        // As the broker serialises them: BigInt and DateTime arrive as strings.
        scalars: { BigInt: "string", DateTime: "string", ID: "string" },
        enumsAsTypes: true,
        skipTypename: true,
        useTypeImports: true,
        // Plain strings, not ASTs: the agent bundle then needs no graphql runtime to send them.
        documentMode: "string",
      },
    },
  },
};
export default config;
