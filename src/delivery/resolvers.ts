import { requireIdentity } from "../auth/policy.js";
import { getAgent } from "../agents/service.js";
import { BrokkrError, badInput, forbidden, notFound } from "../errors.js";
import type { Resolvers } from "../generated/graphql.js";
import { getManagedStack } from "../stacks/service.js";
import { BoundedQueue } from "./bounded-queue.js";
import { newestSequenceId } from "./store.js";
import type { AgentDeploymentEventModel, AgentEventRow } from "./types.js";
import type { DeploymentObjectRow } from "../deployment-objects/store.js";
import { requireId } from "../validation.js";
import type { GraphQLContext } from "../graphql/context.js";
import type { Identity } from "../auth/identity.js";

/** Close code for a subscriber that stopped reading (its buffer hit the cap). */
export const SLOW_CONSUMER_CLOSE = 4413;

/** Cuts off a subscriber that stops reading: bounded memory per connection, clear close code. */
export function slowConsumerGuard(ctx: GraphQLContext) {
  const { connection } = ctx;
  return {
    onOverflow: () => {
      ctx.delivery.slowConsumerClosed();
      connection?.close(SLOW_CONSUMER_CLOSE, "Slow consumer: send buffer exceeded");
    },
    backedUp: connection ? () => connection.backedUp() : undefined,
  };
}

// Reads the sequence, not the delivery horizon: the horizon takes the insert lock, which a
// reconnect storm of thousands of subscribes must not do.
async function checkCursor(ctx: { db: Parameters<typeof newestSequenceId>[0] }, after: bigint): Promise<void> {
  if (after < 0n) throw badInput("after", "after must not be negative");
  const newest = await newestSequenceId(ctx.db);
  if (after > newest) throw badInput("after", "after is not a sequence id this broker has issued");
}

/**
 * Whose agentDeployments stream a caller may open: an agent its own, the admin any agent's
 * (by agentId). Shared by the resolver and graphql/direct-deployments.ts.
 */
export function agentStreamOf(identity: Identity | null, agentId: string | null | undefined): { id: string; bySelf: boolean } {
  const who = requireIdentity(identity);
  if (who.role === "AGENT") {
    if (agentId && agentId !== who.id) throw forbidden("an agent subscribes only for itself");
    return { id: who.id, bySelf: true };
  }
  if (who.role !== "ADMIN") throw forbidden();
  if (!agentId) throw badInput("agentId", "agentId is required for the admin");
  return { id: requireId("agentId", agentId), bySelf: false };
}

export const deliveryResolvers: Resolvers = {
  Subscription: {
    agentDeployments: {
      subscribe: async (_, { after, agentId }, ctx) => {
        const { id, bySelf } = agentStreamOf(ctx.identity, agentId);
        const cursor = after ?? 0n;
        await ctx.delivery.checkAgentStream(id, cursor);
        const sub = await ctx.delivery.subscribeAgent(id, cursor, slowConsumerGuard(ctx), bySelf);
        return sub.stream;
      },
      resolve: (event: AgentDeploymentEventModel) => event,
    },
    stackDeploymentObjects: {
      subscribe: async (_, { stackId, after }, ctx) => {
        const stack = await getManagedStack(ctx.db, requireIdentity(ctx.identity), stackId, "stackId").catch((err) => {
          if (err instanceof BrokkrError && err.code === "NOT_FOUND") throw notFound("stack");
          throw err;
        });
        const cursor = after ?? 0n;
        await checkCursor(ctx, cursor);
        return ctx.delivery.subscribeStack(stack.id, cursor, slowConsumerGuard(ctx));
      },
      resolve: (object: DeploymentObjectRow) => object,
    },
    agentEventsAdded: {
      subscribe: async (_, { agentId, stackId }, ctx) => {
        const who = requireIdentity(ctx.identity);
        let filter: string | null = null;
        if (who.role === "AGENT") {
          if (agentId && agentId !== who.id) throw forbidden();
          filter = who.id;
        } else if (who.role === "GENERATOR" && !stackId) {
          throw forbidden("a generator subscribes to the events of one of its stacks (stackId)");
        } else if (agentId) {
          filter = (await getAgent(ctx.db, agentId, "agentId")).id;
        }
        // A generator sees events for objects of its own stacks, as in Agent.events.
        const stack = stackId ? (await getManagedStack(ctx.db, who, stackId, "stackId")).id : null;
        const queue = new BoundedQueue<AgentEventRow>({ limit: 10_000, ...slowConsumerGuard(ctx), onClose: () => off() });
        const off = ctx.delivery.agentEvents.listen(filter, (event) => queue.push(event), stack);
        return queue;
      },
      resolve: (event: AgentEventRow) => event,
    },
  },
};
