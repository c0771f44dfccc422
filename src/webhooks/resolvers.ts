import DataLoader from "dataloader";
import { requireAdmin } from "../auth/policy.js";
import { BoundedQueue } from "../delivery/bounded-queue.js";
import { SLOW_CONSUMER_CLOSE } from "../delivery/resolvers.js";
import type { WebhookDeliveryStatus as GqlStatus, Resolvers } from "../generated/graphql.js";
import type { GraphQLContext } from "../graphql/context.js";
import { decodeCursor, encodeCursor, pageArgs, toConnection } from "../graphql/pagination.js";
import { isInt64Digits } from "../validation.js";
import { attemptsOf, findDelivery, type AttemptRow, type DeliveryFilter } from "./delivery-queries.js";
import { deliveriesOf, testSubscription } from "./delivery-service.js";
import type { DeliveryRow, DeliveryStatus } from "./delivery-store.js";
import { EVENT_TYPES } from "./event-types.js";
import * as service from "./service.js";

const toStatus = (s: GqlStatus | null | undefined) => (s ? (s.toLowerCase() as DeliveryStatus) : undefined);
const seqCursor = (row: { seq: bigint }) => encodeCursor([row.seq]);
const afterSeq = (after: string | undefined) =>
  after === undefined ? undefined : BigInt(decodeCursor(after, 1, ([s]) => isInt64Digits(s ?? ""))[0] ?? "0");

/** One attempts loader per request; a subscription's context lives on, so its loader batches without caching. */
const attemptLoaders = new WeakMap<GraphQLContext, DataLoader<string, AttemptRow[]>>();
function attemptLoader(ctx: GraphQLContext) {
  let loader = attemptLoaders.get(ctx);
  if (!loader) {
    loader = new DataLoader(
      async (ids: readonly string[]) => {
        const rows = await attemptsOf(ctx.db, ids);
        return ids.map((id) => rows.filter((r) => r.delivery_id === id));
      },
      { cache: !ctx.connection },
    );
    attemptLoaders.set(ctx, loader);
  }
  return loader;
}

async function deliveryPage(ctx: GraphQLContext, filter: DeliveryFilter, first?: number | null, after?: string | null) {
  const page = pageArgs(first, after);
  const rows = await deliveriesOf(ctx.webhooks, ctx.identity, filter, { limit: page.first + 1, beforeSeq: afterSeq(page.after) });
  return toConnection(rows, page.first, seqCursor);
}

export const webhookResolvers: Resolvers = {
  Query: {
    webhookEventTypes: (_, __, ctx) => {
      requireAdmin(ctx.identity);
      return [...EVENT_TYPES];
    },
    webhookSubscriptions: async (_, { first, after }, ctx) => {
      const page = pageArgs(first, after);
      const rows = await service.listSubscriptions(ctx.webhooks, ctx.identity, page.first + 1, afterSeq(page.after));
      return toConnection(rows, page.first, seqCursor);
    },
    webhookSubscription: async (_, { id }, ctx) => service.getSubscription(ctx.webhooks, ctx.identity, id),
    webhookDeliveries: async (_, { filter, first, after }, ctx) =>
      deliveryPage(
        ctx,
        {
          subscriptionId: filter?.subscriptionId ?? undefined,
          status: toStatus(filter?.status),
          eventType: filter?.eventType ?? undefined,
        },
        first,
        after,
      ),
  },
  Mutation: {
    createWebhookSubscription: async (_, { input }, ctx) => {
      const made = await service.createSubscription(ctx.webhooks, ctx.identity, input);
      return { subscription: made.subscription, signingSecret: made.generatedSecret };
    },
    updateWebhookSubscription: async (_, { input: { id, ...rest } }, ctx) => ({
      subscription: await service.updateSubscription(ctx.webhooks, ctx.identity, id, rest),
    }),
    deleteWebhookSubscription: async (_, { input }, ctx) => {
      await service.deleteSubscription(ctx.webhooks, ctx.identity, input.id);
      return { deletedId: input.id };
    },
    testWebhookSubscription: async (_, { input }, ctx) => {
      const result = await testSubscription(ctx.webhooks, ctx.identity, input.id);
      return { ...result, delivery: await findDelivery(ctx.db, result.deliveryId) };
    },
  },
  Subscription: {
    webhookDeliveries: {
      subscribe: async (_, { subscriptionId }, ctx) => {
        requireAdmin(ctx.identity);
        const only = subscriptionId ? (await service.getSubscription(ctx.webhooks, ctx.identity, subscriptionId)).id : null;
        const queue = new BoundedQueue<DeliveryRow>({
          limit: 10_000,
          onOverflow: () => {
            ctx.delivery.slowConsumerClosed();
            ctx.connection?.close(SLOW_CONSUMER_CLOSE, "Slow consumer: send buffer exceeded");
          },
          backedUp: ctx.connection ? () => ctx.connection?.backedUp() ?? false : undefined,
          onClose: () => off(),
        });
        const off = ctx.webhooks.outcomes.listen(only, (row) => queue.push(row));
        return queue;
      },
      resolve: (row: DeliveryRow) => row,
    },
  },
  WebhookSubscription: {
    deliveries: (sub, { status, first, after }, ctx) =>
      deliveryPage(ctx, { subscriptionId: sub.id, status: toStatus(status) }, first, after),
  },
  WebhookDelivery: {
    subscriptionId: (d) => d.subscription_id,
    eventId: (d) => d.event_id,
    eventType: (d) => d.event_type,
    status: (d) => d.status.toUpperCase() as GqlStatus,
    attemptCount: (d) => d.attempts,
    nextAttemptAt: (d) => (d.status === "failed" ? d.due_at : null),
    lastStatusCode: (d) => d.last_status_code,
    lastError: (d) => d.last_error,
    acquiredBy: (d) => d.acquired_by,
    completedAt: (d) => d.completed_at,
    createdAt: (d) => d.created_at,
    attempts: (d, _, ctx) => attemptLoader(ctx).load(d.id),
  },
  WebhookDeliveryAttempt: {
    deliveredBy: (a) => a.delivered_by,
    statusCode: (a) => a.status_code,
    durationMs: (a) => a.duration_ms,
    recordedAt: (a) => a.recorded_at,
  },
};
