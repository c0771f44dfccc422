import { requireAdmin, requireIdentity } from "../auth/policy.js";
import { badInput, forbidden } from "../errors.js";
import type { Resolvers } from "../generated/graphql.js";
import type { GraphQLContext } from "../graphql/context.js";
import { pageArgs } from "../graphql/pagination.js";
import { getAgent } from "../agents/service.js";
import { requireId } from "../validation.js";
import type { WorkOrderChangeModel } from "./changes.js";
import type { AgentWorkOrderEventModel } from "./feed.js";
import * as service from "./service.js";

/** GraphQL's pending list is costed as a plain list of 50 (src/graphql/limits.ts). */
const GRAPHQL_PENDING_LIMIT = 50;
/** Close code for a subscriber that stopped reading (as agentDeployments). */
const SLOW_CONSUMER_CLOSE = 4413;

function guardOf(ctx: GraphQLContext) {
  const { connection } = ctx;
  return {
    onOverflow: () => connection?.close(SLOW_CONSUMER_CLOSE, "Slow consumer: send buffer exceeded"),
    backedUp: connection ? () => connection.backedUp() : undefined,
  };
}

export const workOrderResolvers: Resolvers = {
  Query: {
    workOrders: (_, { filter, first, after }, { db, identity }) =>
      service.listWorkOrders(
        db,
        requireIdentity(identity),
        { status: filter?.status ?? undefined, workType: filter?.workType ?? undefined },
        pageArgs(first, after),
      ),
    workOrder: (_, { id }, { db, identity }) => service.getWorkOrder(db, requireIdentity(identity), id),
    workOrderLog: (_, { filter, first, after }, { db, identity }) =>
      service.listLog(
        db,
        requireIdentity(identity),
        { workType: filter?.workType ?? undefined, success: filter?.success ?? undefined, agentId: filter?.agentId ?? undefined },
        pageArgs(first, after),
      ),
    pendingWorkOrders: (_, { agentId, workType }, { db, identity }) =>
      service.listPending(db, requireIdentity(identity), agentId, workType, GRAPHQL_PENDING_LIMIT),
  },
  Mutation: {
    createWorkOrder: async (_, { input }, { db, identity, limits }) => ({
      workOrder: await service.createWorkOrder(db, requireIdentity(identity), input, limits),
    }),
    deleteWorkOrder: (_, { input }, { db, identity }) => service.deleteWorkOrder(db, requireIdentity(identity), input.id),
    claimWorkOrder: async (_, { input }, { db, identity }) => ({
      workOrder: await service.claimWorkOrder(db, requireIdentity(identity), input.id, input.agentId),
    }),
    completeWorkOrder: (_, { input }, { db, identity }) => service.completeWorkOrder(db, requireIdentity(identity), input),
  },
  Subscription: {
    agentWorkOrders: {
      subscribe: async (_, { agentId }, ctx) => {
        const who = requireIdentity(ctx.identity);
        let id: string;
        if (who.role === "AGENT") {
          if (agentId && agentId !== who.id) throw forbidden("an agent subscribes only for itself");
          id = who.id;
        } else if (who.role === "ADMIN") {
          if (!agentId) throw badInput("agentId", "agentId is required for the admin");
          id = (await getAgent(ctx.db, requireId("agentId", agentId), "agentId")).id;
        } else {
          throw forbidden();
        }
        return ctx.workOrders.subscribe(id, guardOf(ctx));
      },
      resolve: (event: AgentWorkOrderEventModel) => event,
    },
    workOrderChanges: {
      // The admin and read-only users, checked before the stream opens.
      subscribe: (_, __, ctx) => {
        requireAdmin(ctx.identity);
        return ctx.workOrders.changes.subscribe(guardOf(ctx));
      },
      resolve: (change: WorkOrderChangeModel) => change,
    },
  },
  WorkOrder: {
    targeting: (order) => ({
      agentIds: order.targets.map((t) => t.agentId),
      labels: order.labels.map((l) => l.label),
      annotations: order.annotations.map((a) => ({ key: a.key, value: a.value })),
    }),
  },
};
