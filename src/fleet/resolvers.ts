import DataLoader from "dataloader";
import type { AgentRow } from "../agents/store.js";
import { requireAdmin } from "../auth/policy.js";
import type { Resolvers } from "../generated/graphql.js";
import type { GraphQLContext } from "../graphql/context.js";
import { pageArgs } from "../graphql/pagination.js";
import { requireAnnotations, requireLabels } from "../validation.js";
import { BoundedQueue } from "../delivery/bounded-queue.js";
import { slowConsumerGuard } from "../delivery/resolvers.js";
import { BrokkrError } from "../errors.js";
import type { FleetChange } from "./feed.js";
import { type FleetStatus, fleetPage, fleetStatuses } from "./service.js";

// Agent.fleetStatus over a list of agents batches into one fleetStatuses call per request: the
// loader lives as long as the context it is keyed by (a request, or one subscription event).
const loaders = new WeakMap<GraphQLContext, DataLoader<AgentRow, FleetStatus, string>>();
function statusLoader(ctx: GraphQLContext) {
  let loader = loaders.get(ctx);
  if (!loader) {
    const overdue = ctx.liveConfig.current.fleet.overdueSeconds;
    loader = new DataLoader((agents) => fleetStatuses(ctx.db, [...agents], overdue), { cacheKeyFn: (a) => a.id, cache: false });
    loaders.set(ctx, loader);
  }
  return loader;
}

export const fleetResolvers: Resolvers = {
  Query: {
    // Admin only: connection state and health of every cluster is the operator's view.
    fleet: (_, { filter, first, after }, { db, identity, liveConfig }) => {
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
        liveConfig.current.fleet.overdueSeconds,
      );
    },
  },
  Subscription: {
    fleetChanges: {
      // The admin and read-only users (who resolve with the admin's role).
      subscribe: (_, __, ctx) => {
        requireAdmin(ctx.identity);
        const feed = ctx.delivery.fleet;
        if (!feed) throw new BrokkrError("SERVICE_UNAVAILABLE", "the live fleet is not running");
        const queue = new BoundedQueue<FleetChange>({ limit: 10_000, ...slowConsumerGuard(ctx), onClose: () => off() });
        const off = feed.listen((changes) => {
          for (const change of changes) queue.push(change);
        });
        return queue;
      },
      resolve: (change: FleetChange) => change,
    },
  },
  Agent: {
    fleetStatus: (agent, _, ctx) => {
      requireAdmin(ctx.identity);
      return statusLoader(ctx).load(agent);
    },
  },
};
