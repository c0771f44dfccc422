import { requireIdentity } from "../auth/policy.js";
import { forbidden } from "../errors.js";
import type { Resolvers } from "../generated/graphql.js";
import { referenced } from "../graphql/loaders.js";
import { pageArgs } from "../graphql/pagination.js";
import { stickerLoaders } from "./loaders.js";
import * as service from "./service.js";

export const stickerResolvers: Resolvers = {
  Query: {
    versionStickers: (_, { environmentId, driftDetected, first, after }, { db, identity }) =>
      service.listVersionStickers(db, identity, { environmentId, driftDetected, ...pageArgs(first, after) }),
  },
  Mutation: {
    reportVersionSticker: async (_, { input }, { db, identity }) => ({
      sticker: await service.reportVersionSticker(db, identity, input),
    }),
    reportDrift: async (_, { input }, { db, identity }) => ({ sticker: await service.reportDrift(db, identity, input) }),
  },
  // Whoever may read the object may read where it came from: a property of the object, never of
  // the reader, so it may ride on an agentDeployments payload shared by several agents
  // (delivery/shared-subscribe.ts SHAREABLE_FIELDS).
  DeploymentObject: {
    releaseContext: (object, _, ctx) => stickerLoaders(ctx).releaseContext.load(object.id),
  },
  ReleaseContext: {
    stickerNamespace: (_, __, { liveConfig }) => liveConfig.current.stickers.namespace,
  },
  Agent: {
    versionStickers: (agent, _, ctx) => {
      const who = requireIdentity(ctx.identity);
      if (who.role !== "ADMIN" && !(who.role === "AGENT" && who.id === agent.id)) throw forbidden();
      return stickerLoaders(ctx).agentStickers.load(agent.id);
    },
  },
  VersionSticker: {
    agent: (sticker, _, { loaders }) => referenced(loaders.agent, sticker.agentId),
  },
};
