import { randomUUID } from "node:crypto";
import type { Db } from "../db/client.js";
import type { EventRecord, GapReason, InvolvedObject, TelemetryBatch } from "./records.js";

/*
 * The telemetry tables of migration 0015. A batch is written with one INSERT per table (rows as
 * one JSON parameter, unnested in order) and one pg_notify carrying the batch id, in the
 * caller's transaction: one wake-up per batch, never per row (DESIGN.md: NOTIFY takes a global
 * lock at commit).
 */
export const TELEMETRY_CHANNEL = "brokkr_telemetry";
export type TelemetryKind = "events" | "logs" | "gaps";
const TABLES: Record<TelemetryKind, string> = { events: "telemetry_events", logs: "telemetry_logs", gaps: "telemetry_gaps" };
const KEYS =
  "id, agent_id, stack_id, created_at, seq::text AS seq_key, (extract(epoch FROM created_at) * 1e6)::bigint::text AS created_us";
const COLUMNS: Record<TelemetryKind, string> = {
  events: `${KEYS}, observed_at, reason, message, event_type, source, involved_object`,
  logs: `${KEYS}, namespace, pod, container, ts, line`,
  gaps: `${KEYS}, since_ts, dropped_count, reason`,
};
/** A keyset position's microseconds as a timestamptz, exactly (to_timestamp's double would round). */
const AT_MICROS = (param: string) => `(timestamptz 'epoch' + ${param}::bigint * interval '1 microsecond')`;

interface RowKeys {
  id: string;
  agentId: string;
  stackId: string;
  createdAt: Date;
  /** The keyset cursor's parts: created_at in epoch microseconds, then seq. */
  createdUs: string;
  seq: string;
}
export type KubeEventRow = RowKeys & Omit<EventRecord, "stackId">;
export type PodLogRow = RowKeys & { namespace: string; pod: string; container: string; ts: Date; line: string };
export type LogGapRow = RowKeys & { sinceTs: Date; droppedCount: number; reason: GapReason };
export type TelemetryRow = KubeEventRow | PodLogRow | LogGapRow;
export interface RowOf {
  events: KubeEventRow;
  logs: PodLogRow;
  gaps: LogGapRow;
}

const iso = (d: Date) => d.toISOString();

/** Writes a batch and notifies once; returns the batch id. Pass a transaction (the notify is sent at its commit). */
export async function insertBatch(db: Db, agentId: string, batch: TelemetryBatch): Promise<string> {
  const batchId = randomUUID();
  // Rows go as one JSON array, unnested WITH ORDINALITY so seq follows the order sent.
  if (batch.events.length > 0) {
    const rows = JSON.stringify(batch.events.map((e) => ({ ...e, observedAt: iso(e.observedAt) })));
    await db.$executeRaw`
      INSERT INTO telemetry_events (batch_id, agent_id, stack_id, observed_at, reason, message, event_type, source, involved_object)
      SELECT ${batchId}::uuid, ${agentId}::uuid, (r->>'stackId')::uuid, (r->>'observedAt')::timestamptz, r->>'reason',
             r->>'message', r->>'eventType', r->>'source', r->'involvedObject'
        FROM jsonb_array_elements(${rows}::jsonb) WITH ORDINALITY AS x(r, n) ORDER BY n`;
  }
  if (batch.logs.length > 0) {
    const rows = JSON.stringify(batch.logs.map((l) => ({ ...l, ts: iso(l.ts) })));
    await db.$executeRaw`
      INSERT INTO telemetry_logs (batch_id, agent_id, stack_id, namespace, pod, container, ts, line)
      SELECT ${batchId}::uuid, ${agentId}::uuid, (r->>'stackId')::uuid, r->>'namespace', r->>'pod', r->>'container',
             (r->>'ts')::timestamptz, r->>'line'
        FROM jsonb_array_elements(${rows}::jsonb) WITH ORDINALITY AS x(r, n) ORDER BY n`;
  }
  if (batch.gaps.length > 0) {
    const rows = JSON.stringify(batch.gaps.map((g) => ({ ...g, sinceTs: iso(g.sinceTs) })));
    await db.$executeRaw`
      INSERT INTO telemetry_gaps (batch_id, agent_id, stack_id, since_ts, dropped_count, reason)
      SELECT ${batchId}::uuid, ${agentId}::uuid, (r->>'stackId')::uuid, (r->>'sinceTs')::timestamptz,
             (r->>'droppedCount')::int, r->>'reason'
        FROM jsonb_array_elements(${rows}::jsonb) WITH ORDINALITY AS x(r, n) ORDER BY n`;
  }
  await db.$executeRaw`SELECT pg_notify(${TELEMETRY_CHANNEL}, ${batchId})`;
  return batchId;
}

/** Which of `stackIds` reach the agent now (the associations view; the caller checks the agent receives). */
export async function stacksReachingAmong(db: Db, agentId: string, stackIds: string[]): Promise<string[]> {
  if (stackIds.length === 0) return [];
  const rows = await db.$queryRaw<{ stack_id: string }[]>`
    SELECT stack_id FROM agent_stack_associations WHERE agent_id = ${agentId}::uuid AND stack_id = ANY(${stackIds}::uuid[])`;
  return rows.map((r) => r.stack_id);
}

export interface HistoryQuery {
  stackId: string;
  since: Date;
  /** Keyset position to continue after: [createdUs, seq]. */
  after?: [string, string];
  limit: number;
}

type RawRow = Record<string, unknown> & { created_us: string; seq_key: string };

// Table and column lists are the constants above, never input; values are bound parameters.
export async function listHistory<K extends TelemetryKind>(db: Db, kind: K, q: HistoryQuery): Promise<RowOf[K][]> {
  const [afterUs, afterSeq] = q.after ?? ["-1", "0"];
  const rows = await db.$queryRawUnsafe<RawRow[]>(
    `SELECT ${COLUMNS[kind]} FROM ${TABLES[kind]}
      WHERE stack_id = $1::uuid AND created_at >= $2::timestamptz AND (created_at, seq) > (${AT_MICROS("$3")}, $4::bigint)
      ORDER BY created_at, seq LIMIT $5`,
    q.stackId,
    q.since,
    afterUs,
    afterSeq,
    q.limit,
  );
  return rows.map((r) => toRow(kind, r) as RowOf[K]);
}

/** A batch's rows of the given stacks (the live tail loads each notified batch once). */
export async function rowsOfBatch(db: Db, batchId: string, stackIds: string[]): Promise<TelemetryRow[]> {
  const out: TelemetryRow[] = [];
  for (const kind of ["events", "logs", "gaps"] as const) {
    const rows = await db.$queryRawUnsafe<RawRow[]>(
      `SELECT ${COLUMNS[kind]} FROM ${TABLES[kind]} WHERE batch_id = $1::uuid AND stack_id = ANY($2::uuid[]) ORDER BY seq`,
      batchId,
      stackIds,
    );
    out.push(...rows.map((r) => toRow(kind, r)));
  }
  return out;
}

/** The oldest retained row's created_at of the stack in one table, or null. */
export async function oldestAvailable(db: Db, kind: "events" | "logs", stackId: string, since: Date): Promise<Date | null> {
  const rows = await db.$queryRawUnsafe<{ oldest: Date | null }[]>(
    `SELECT min(created_at) AS oldest FROM ${TABLES[kind]} WHERE stack_id = $1::uuid AND created_at >= $2::timestamptz`,
    stackId,
    since,
  );
  return rows[0]?.oldest ?? null;
}

/** Deletes up to `chunk` rows of one table older than `cutoff`; returns how many. */
export async function purgeChunk(db: Db, kind: TelemetryKind, cutoff: Date, chunk: number): Promise<number> {
  return db.$executeRawUnsafe(
    `DELETE FROM ${TABLES[kind]} WHERE seq IN (
       SELECT seq FROM ${TABLES[kind]} WHERE created_at < $1::timestamptz ORDER BY created_at LIMIT $2)`,
    cutoff,
    chunk,
  );
}

function toRow(kind: TelemetryKind, r: RawRow): TelemetryRow {
  const keys: RowKeys = {
    id: String(r.id),
    agentId: String(r.agent_id),
    stackId: String(r.stack_id),
    createdAt: r.created_at as Date,
    createdUs: r.created_us,
    seq: r.seq_key,
  };
  if (kind === "logs")
    return {
      ...keys,
      namespace: `${r.namespace}`,
      pod: `${r.pod}`,
      container: `${r.container}`,
      ts: r.ts as Date,
      line: `${r.line}`,
    };
  if (kind === "gaps")
    return { ...keys, sinceTs: r.since_ts as Date, droppedCount: Number(r.dropped_count), reason: r.reason as GapReason };
  const o = r.involved_object as Partial<InvolvedObject>;
  return {
    ...keys,
    observedAt: r.observed_at as Date,
    reason: `${r.reason}`,
    message: `${r.message}`,
    eventType: `${r.event_type}`,
    source: (r.source as string | null) ?? null,
    involvedObject: {
      apiVersion: o.apiVersion ?? "",
      kind: o.kind ?? "",
      namespace: o.namespace ?? null,
      name: o.name ?? "",
      uid: o.uid ?? null,
    },
  };
}
