import DataLoader from "dataloader";
import type { AgentRow } from "../agents/store.js";
import { requireAdmin } from "../auth/policy.js";
import type { Resolvers } from "../generated/graphql.js";
import type { GraphQLContext } from "../graphql/context.js";
import { pageArgs } from "../graphql/pagination.js";
import { requireAnnotations, requireLabels } from "../validation.js";
import { type FleetStatus, fleetPage, fleetStatuses } from "./service.js";

// Agent.fleetStatus over a list of agents batches into one fleetStatuses call per request: the
// loader lives as long as the context it is keyed by (a request, or one subscription event).
const loaders = new WeakMap<GraphQLContext, DataLoader<AgentRow, FleetStatus, string>>();
function statusLoader(ctx: GraphQLContext) {
  let loader = loaders.get(ctx);
  if (!loader) {
    loader = new DataLoader((agents) => fleetStatuses(ctx.db, [...agents]), { cacheKeyFn: (a) => a.id, cache: false });
    loaders.set(ctx, loader);
  }
  return loader;
}

export const fleetResolvers: Resolvers = {
  Query: {
    // Admin only: connection state and health of every cluster is the operator's view.
    fleet: (_, { filter, first, after }, { db, identity }) => {
      requireAdmin(identity);
      return fleetPage(
        db,
        {
          labels: requireLabels("filter.labels", filter?.labels),
          annotations: requireAnnotations("filter.annotations", filter?.annotations),
          status: filter?.status ?? undefined,
          includeDeleted: filter?.includeDeleted ?? false,
        },
        pageArgs(first, after),
      );
    },
  },
  Agent: {
    fleetStatus: (agent, _, ctx) => {
      requireAdmin(ctx.identity);
      return statusLoader(ctx).load(agent);
    },
  },
};
