import { getWritingAgent } from "../agents/service.js";
import type { Identity } from "../auth/identity.js";
import type { TelemetryLimits } from "../config.js";
import { inTransaction, type Database, type Db } from "../db/client.js";
import { badInput, forbidden } from "../errors.js";
import { decodeCursor, encodeCursor, toConnection, type Page } from "../graphql/pagination.js";
import { getManagedStack } from "../stacks/service.js";
import { isInt64Digits, requireId } from "../validation.js";
import { boundBatch, MAX_BATCH_RECORDS, recordCount, stacksOf, type TelemetryBatch } from "./records.js";
import * as store from "./store.js";

/** Brokkr's hard ceiling on telemetry retention (RetentionInfo.retention_ceiling_seconds). */
export const RETENTION_CEILING_SECONDS = 21_600;
export const LONG_TERM_SINK_HINT =
  "Brokkr-TS keeps cluster telemetry for at most 6 hours to debug rollouts; ship events and logs to a log platform " +
  "(Datadog, Loki, Elasticsearch) for long-term retention.";

export interface ReportOutcome {
  events: number;
  logs: number;
  gaps: number;
  /** Records dropped because their stack does not reach the agent (only with `foreign: "drop"`). */
  refused: number;
}

/**
 * An agent's batch: the agent must be live and ACTIVE, and each record's stack must reach it.
 * `foreign: "refuse"` (our mutation) refuses the whole batch with FORBIDDEN when one does not,
 * and stores nothing; `"drop"` (Brokkr's frames, which have no error reply) keeps the rest.
 * Stored within the per-stack bounds, with one notify for the batch.
 */
export async function reportTelemetry(
  db: Database,
  identity: Identity,
  batch: TelemetryBatch,
  limits: TelemetryLimits,
  foreign: "refuse" | "drop",
): Promise<ReportOutcome> {
  if (identity.role !== "AGENT") throw forbidden("only agents report telemetry");
  if (recordCount(batch) > MAX_BATCH_RECORDS)
    throw badInput("input", `a telemetry batch carries at most ${MAX_BATCH_RECORDS} records`);
  const stackIds = stacksOf(batch).map((id) => requireId("stackId", id));
  const agent = await getWritingAgent(db, identity, identity.id);
  const reaching = new Set(await store.stacksReachingAmong(db, agent.id, stackIds));
  const others = stackIds.filter((id) => !reaching.has(id));
  if (others.length > 0 && foreign === "refuse") throw forbidden("a record names a stack that does not reach this agent");
  const ours = <T extends { stackId: string }>(rows: T[]) => rows.filter((r) => reaching.has(r.stackId.toLowerCase()));
  const allowed = { events: ours(batch.events), logs: ours(batch.logs), gaps: ours(batch.gaps) };
  const bounded = boundBatch(allowed, limits);
  const outcome = {
    events: bounded.events.length,
    logs: bounded.logs.length,
    gaps: bounded.gaps.length,
    refused: recordCount(batch) - recordCount(allowed),
  };
  if (recordCount(bounded) > 0) await inTransaction(db, (tx) => store.insertBatch(tx, agent.id, bounded));
  return outcome;
}

/** A stack whose telemetry the caller may read: admins and the stack's generator (as Brokkr's owner check). */
export async function getTelemetryStack(db: Db, identity: Identity, stackId: string, field = "id") {
  if (identity.role === "AGENT") throw forbidden("agents do not read telemetry");
  return getManagedStack(db, identity, stackId, field);
}

/** The oldest `since` a reader may ask for, given the configured retention (never past the ceiling). */
export function retentionSeconds(limits: TelemetryLimits): number {
  return Math.min(limits.retentionSeconds, RETENTION_CEILING_SECONDS);
}

/** `since` clamped to the retained window (Brokkr: older values are silently clamped). */
export function clampSince(since: Date | null | undefined, limits: TelemetryLimits, now = new Date()): Date {
  const floor = new Date(now.getTime() - retentionSeconds(limits) * 1000);
  return !since || since < floor ? floor : since;
}

export interface RetentionInfo {
  retention_ceiling_seconds: number;
  effective_retention_seconds: number;
  oldest_available_ts: string | null;
  long_term_sink_hint: string;
}

export async function retentionInfo(
  db: Db,
  kind: "events" | "logs",
  stackId: string,
  limits: TelemetryLimits,
): Promise<RetentionInfo> {
  const oldest = await store.oldestAvailable(db, kind, stackId, clampSince(null, limits));
  return {
    retention_ceiling_seconds: RETENTION_CEILING_SECONDS,
    effective_retention_seconds: retentionSeconds(limits),
    oldest_available_ts: oldest?.toISOString() ?? null,
    long_term_sink_hint: LONG_TERM_SINK_HINT,
  };
}

/** Brokkr's `limit`: default 500, at most 5000. */
export const HISTORY_DEFAULT_LIMIT = 500;
export const HISTORY_MAX_LIMIT = 5000;

export interface HistoryQuery {
  since?: Date | null;
  limit?: number | null;
}

/** Brokkr's history read: `since` clamped to the window, `limit` to 1..5000, oldest first. */
async function historyWindow(db: Db, identity: Identity, stackId: string, query: HistoryQuery, limits: TelemetryLimits) {
  const stack = await getTelemetryStack(db, identity, stackId);
  const limit = Math.min(Math.max(query.limit ?? HISTORY_DEFAULT_LIMIT, 1), HISTORY_MAX_LIMIT);
  return { stackId: stack.id, since: clampSince(query.since, limits), limit };
}

export async function eventHistory(db: Db, identity: Identity, stackId: string, query: HistoryQuery, limits: TelemetryLimits) {
  const q = await historyWindow(db, identity, stackId, query, limits);
  return { rows: await store.listHistory(db, "events", q), retention: await retentionInfo(db, "events", q.stackId, limits) };
}

export async function logHistory(db: Db, identity: Identity, stackId: string, query: HistoryQuery, limits: TelemetryLimits) {
  const q = await historyWindow(db, identity, stackId, query, limits);
  return { rows: await store.listHistory(db, "logs", q), retention: await retentionInfo(db, "logs", q.stackId, limits) };
}

const decodeKey = (cursor: string) => decodeCursor(cursor, 2, (parts) => parts.every(isInt64Digits)) as [string, string];

/** A Relay page of one kind of a stack's telemetry, oldest first, keyed by (created_at, seq). */
export async function telemetryPage<K extends store.TelemetryKind>(db: Db, kind: K, stackId: string, since: Date, page: Page) {
  const q = { stackId, since, limit: page.first + 1, after: page.after ? decodeKey(page.after) : undefined };
  const rows = await store.listHistory(db, kind, q);
  return toConnection(rows, page.first, (r) => encodeCursor([r.createdUs, r.seq]));
}
