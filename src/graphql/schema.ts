import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { makeExecutableSchema } from "@graphql-tools/schema";
import type { GraphQLSchema } from "graphql";
import { agentResolvers } from "../agents/resolvers.js";
import { associationResolvers } from "../associations/resolvers.js";
import { auditResolvers } from "../audit/resolvers.js";
import { requireIdentity } from "../auth/policy.js";
import { deploymentObjectResolvers } from "../deployment-objects/resolvers.js";
import type { Resolvers } from "../generated/graphql.js";
import { fleetResolvers } from "../fleet/resolvers.js";
import { generatorResolvers } from "../generators/resolvers.js";
import { stackResolvers } from "../stacks/resolvers.js";
import { deliveryResolvers } from "../delivery/resolvers.js";
import { liveConfigResolvers } from "../live-config/resolvers.js";
import { diagnosticResolvers } from "../diagnostics/resolvers.js";
import { telemetryResolvers } from "../telemetry/resolvers.js";
import { workOrderResolvers } from "../work-orders/resolvers.js";
import { templateResolvers } from "../templates/resolvers.js";
import { webhookResolvers } from "../webhooks/resolvers.js";
import { refuseMutationsByReadOnlyUsers } from "../auth/read-only.js";
import { userResolvers } from "../users/resolvers.js";
import { rolloutResolvers } from "../rollouts/resolvers.js";
import { evidenceResolvers } from "../evidence/resolvers.js";
import { promotionResolvers } from "../promotions/resolvers.js";
import { stickerResolvers } from "../stickers/resolvers.js";
import { catalogResolvers } from "../releases/catalog.js";
import { BigIntScalar, DateTimeScalar } from "./scalars.js";

const schemaPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../schema.graphql");

const rootResolvers: Resolvers = {
  BigInt: BigIntScalar,
  DateTime: DateTimeScalar,
  Query: {
    me: (_, __, { identity }) => {
      const who = requireIdentity(identity);
      return { role: who.role, id: who.id };
    },
  },
};

export function buildSchema(extra: Resolvers[] = []): GraphQLSchema {
  const schema = makeExecutableSchema({
    typeDefs: fs.readFileSync(schemaPath, "utf8"),
    resolvers: [
      rootResolvers,
      generatorResolvers,
      stackResolvers,
      agentResolvers,
      deploymentObjectResolvers,
      deliveryResolvers,
      associationResolvers,
      fleetResolvers,
      liveConfigResolvers,
      diagnosticResolvers,
      telemetryResolvers,
      workOrderResolvers,
      templateResolvers,
      webhookResolvers,
      auditResolvers,
      userResolvers,
      rolloutResolvers,
      evidenceResolvers,
      promotionResolvers,
      stickerResolvers,
      ...catalogResolvers,
      ...extra,
    ],
    inheritResolversFromInterfaces: true,
  });
  return refuseMutationsByReadOnlyUsers(schema);
}
