import { ownsStack, requireIdentity } from "../auth/policy.js";
import { BoundedQueue } from "../delivery/bounded-queue.js";
import { SLOW_CONSUMER_CLOSE } from "../delivery/resolvers.js";
import { forbidden } from "../errors.js";
import type { LogGapReason, ReportTelemetryInput, Resolvers } from "../generated/graphql.js";
import type { GraphQLContext } from "../graphql/context.js";
import { pageArgs } from "../graphql/pagination.js";
import { isGapRow, isLogRow } from "./frames.js";
import type { GapReason, TelemetryBatch } from "./records.js";
import { clampSince, getTelemetryStack, reportTelemetry, telemetryPage } from "./service.js";
import type { TelemetryKind, TelemetryRow } from "./store.js";

/** A tail may fall this many records behind before it is closed as a slow consumer. */
const TAIL_QUEUE_LIMIT = 10_000;

const toReason = (r: LogGapReason) => r.toLowerCase() as GapReason;
const fromReason = (r: GapReason) => r.toUpperCase() as LogGapReason;

function batchOf(input: ReportTelemetryInput): TelemetryBatch {
  return {
    events: (input.events ?? []).map((e) => ({
      ...e,
      source: e.source ?? null,
      involvedObject: { ...e.involvedObject, namespace: e.involvedObject.namespace ?? null, uid: e.involvedObject.uid ?? null },
    })),
    logs: input.logs ?? [],
    gaps: (input.gaps ?? []).map((g) => ({ ...g, reason: toReason(g.reason) })),
  };
}

/** The stack's history as a Relay page, for its generator and admins only. */
function history<K extends TelemetryKind>(kind: K) {
  return async (
    stack: { id: string; generatorId: string },
    args: { first?: number | null; after?: string | null; since?: Date | null },
    ctx: GraphQLContext,
  ) => {
    if (!ownsStack(requireIdentity(ctx.identity), stack))
      throw forbidden("only the stack's generator and admins read its telemetry");
    return telemetryPage(ctx.db, kind, stack.id, clampSince(args.since, ctx.telemetry.limits), pageArgs(args.first, args.after));
  };
}

export const telemetryResolvers: Resolvers = {
  Stack: {
    telemetryEvents: history("events"),
    logs: history("logs"),
    logGaps: history("gaps"),
  },
  LogGap: {
    reason: (gap) => fromReason(gap.reason),
  },
  TelemetryRecord: {
    __resolveType: (row) => (isLogRow(row) ? "PodLogLine" : isGapRow(row) ? "LogGap" : "KubeEvent"),
  },
  Mutation: {
    reportTelemetry: async (_, { input }, ctx) => {
      const who = requireIdentity(ctx.identity);
      const { events, logs, gaps } = await reportTelemetry(ctx.db, who, batchOf(input), ctx.telemetry.limits, "refuse");
      return { events, logs, gaps };
    },
  },
  Subscription: {
    stackTelemetry: {
      subscribe: async (_, { stackId }, ctx) => {
        const stack = await getTelemetryStack(ctx.db, requireIdentity(ctx.identity), stackId, "stackId");
        const { connection } = ctx;
        const queue = new BoundedQueue<TelemetryRow>({
          limit: TAIL_QUEUE_LIMIT,
          onOverflow: () => {
            ctx.delivery.slowConsumerClosed();
            connection?.close(SLOW_CONSUMER_CLOSE, "Slow consumer: send buffer exceeded");
          },
          backedUp: connection ? () => connection.backedUp() : undefined,
          onClose: () => off(),
        });
        const off = ctx.telemetry.feed.listen(stack.id, (row) => queue.push(row));
        return queue;
      },
      resolve: (row: TelemetryRow) => row,
    },
  },
};
