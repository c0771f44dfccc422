import type { Resolvers } from "../generated/graphql.js";
import { pageArgs } from "../graphql/pagination.js";
import { releaseLoaders } from "../releases/loaders.js";
import { listPromotionPage } from "../promotions/queries.js";
import { activeFreezeWindow } from "./freeze-windows.js";
import { environmentLoaders } from "./loaders.js";
import type { EnvironmentRow } from "./store.js";

/** As the gate: a window that cannot be read counts as a freeze (windows are validated when written). */
function activeFreezeWindowOf(e: EnvironmentRow) {
  try {
    return activeFreezeWindow(e.freezeWindows, e.timeZone, new Date());
  } catch {
    return { reason: "freeze windows cannot be read" } as EnvironmentRow["freezeWindows"][number];
  }
}
import * as service from "./service.js";

export const environmentResolvers: Resolvers = {
  Query: {
    environments: (_, { filter, first, after }, { db, identity }) =>
      service.listEnvironments(db, identity, filter?.nameContains, pageArgs(first, after)),
    environment: (_, { id }, { db, identity }) => service.getEnvironment(db, identity, id),
  },
  Mutation: {
    createEnvironment: async (_, { input }, { db, identity }) => ({
      environment: await service.createEnvironment(db, identity, input),
    }),
    updateEnvironment: async (_, { input }, { db, identity }) => ({
      environment: await service.updateEnvironment(db, identity, input),
    }),
    deleteEnvironment: (_, { input }, { db, identity }) => service.deleteEnvironment(db, identity, input.id),
  },
  Environment: {
    explicitMembers: (e, _, ctx) => environmentLoaders(ctx).explicitMembers.load(e.id),
    agents: (e, _, ctx) => environmentLoaders(ctx).agents.load(e.id),
    requireSeparationOfDuties: (e) => e.requireSod,
    currentRelease: (e, _, ctx) => releaseLoaders(ctx).currentRelease.load(e.id),
    activeFreezeWindow: (e) => activeFreezeWindowOf(e),
    promotions: (e, { first, after }, ctx) => listPromotionPage(ctx.db, ctx.identity, { environmentId: e.id, first, after }),
  },
  FreezeWindow: {
    start: (w) => ("start" in w ? new Date(w.start) : null),
    end: (w) => ("end" in w ? new Date(w.end) : null),
  },
};
