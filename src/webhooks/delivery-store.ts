import { Prisma } from "../generated/prisma/client.js";
import type { Db } from "../db/client.js";

export type DeliveryStatus = "pending" | "acquired" | "success" | "failed" | "dead";

export interface DeliveryRow {
  id: string;
  seq: bigint;
  subscription_id: string;
  event_id: string;
  event_type: string;
  payload: string;
  target_labels: string[] | null;
  status: DeliveryStatus;
  attempts: number;
  due_at: Date;
  acquired_by: string | null;
  last_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  completed_at: Date | null;
  created_at: Date;
}

/** A delivery claimed for one attempt, with what the attempt needs of its subscription. */
export interface ClaimedDelivery {
  id: string;
  subscription_id: string;
  event_id: string;
  event_type: string;
  payload: string;
  attempts: number;
  max_retries: number;
  timeout_seconds: number;
  url_encrypted: string;
  auth_header_encrypted: string | null;
  secret_encrypted: string;
}

/**
 * Makes the statement's commit not wait for the WAL flush (synchronous_commit off for its
 * transaction only). Used by the delivery task's own statements, where a commit lost in a crash
 * is redone: lost fan-out leaves the events undispatched, a lost claim leaves the delivery due,
 * a lost attempt record leaves its claim to expire and the attempt to be made again — the
 * at-least-once that a crash mid-POST gives anyway (receivers dedupe by event id). Waiting cost
 * a disk flush per statement: with it, the bench delivered 250/s against a 620/s bare loop.
 */
const LAZY_COMMIT = Prisma.sql`(SELECT set_config('synchronous_commit', 'off', true)) = 'off'`;

/** A claim outlives the attempt's timeout by this much before another broker or agent may take it over. */
export const CLAIM_MARGIN_SECONDS = 30;

/**
 * Fans up to `batch` undispatched events out into one delivery per matching enabled
 * subscription, and marks them dispatched, in one statement. SKIP LOCKED lets brokers run this
 * concurrently on disjoint events; (subscription_id, event_id) is unique, so nothing is doubled.
 * A filter on a field the event does not carry never matches (NULL = x is not true); a
 * subscription gets the events that happened since it was created, not the backlog before it.
 */
export async function fanOut(db: Db, batch: number): Promise<{ events: number; deliveries: number }> {
  const rows = await db.$queryRaw<{ events: bigint; deliveries: bigint }[]>`
    WITH ev AS (
      SELECT id, event_type, agent_id, stack_id, data, occurred_at FROM domain_events
       WHERE dispatched_at IS NULL AND ${LAZY_COMMIT} ORDER BY seq LIMIT ${batch} FOR UPDATE SKIP LOCKED
    ), ins AS (
      INSERT INTO webhook_deliveries (subscription_id, event_id, event_type, payload, target_labels)
      SELECT s.id, ev.id, ev.event_type,
             json_build_object('id', ev.id, 'event_type', ev.event_type,
                               'timestamp', to_char(ev.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                               'data', ev.data)::text,
             s.target_labels
        FROM ev JOIN webhook_subscriptions s
          ON s.enabled AND ev.occurred_at >= s.created_at AND brokkr_event_type_matches(s.event_types, ev.event_type)
         AND (s.filter_agent_id IS NULL OR s.filter_agent_id = ev.agent_id)
         AND (s.filter_stack_id IS NULL OR s.filter_stack_id = ev.stack_id)
      ON CONFLICT (subscription_id, event_id) DO NOTHING
      RETURNING 1
    ), done AS (
      UPDATE domain_events e SET dispatched_at = now() FROM ev WHERE e.id = ev.id RETURNING 1
    )
    SELECT (SELECT count(*) FROM done) AS events, (SELECT count(*) FROM ins) AS deliveries`;
  const row = rows[0];
  return { events: Number(row?.events ?? 0), deliveries: Number(row?.deliveries ?? 0) };
}

/** Claims whose holder never reported back after the last allowed attempt: dead, not retried for ever. */
export function buryExhausted(db: Db): Promise<number> {
  return db.$executeRaw`
    UPDATE webhook_deliveries d
       SET status = 'dead', completed_at = now(),
           last_error = 'the last attempt did not report back before its claim expired'
      FROM webhook_subscriptions s
     WHERE s.id = d.subscription_id AND d.status = 'acquired' AND d.due_at <= now() AND d.attempts >= s.max_retries`;
}

/**
 * Claims up to `limit` due deliveries for one attempt each: the broker's (no target labels), or
 * an agent's (it carries every target label). The claim increments attempts, so each claim is
 * one numbered attempt; FOR UPDATE … SKIP LOCKED plus the re-checked status and due_at mean two
 * racing claimers never take the same row.
 */
export function claimDue(db: Db, limit: number, agentId: string | null): Promise<ClaimedDelivery[]> {
  return db.$queryRaw<ClaimedDelivery[]>`
    WITH c AS (
      SELECT d.id FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
       WHERE d.status IN ('pending', 'failed', 'acquired') AND d.due_at <= now() AND d.attempts < s.max_retries
         AND ${LAZY_COMMIT}
         AND CASE WHEN ${agentId}::uuid IS NULL THEN coalesce(cardinality(d.target_labels), 0) = 0
                  ELSE cardinality(d.target_labels) > 0 AND d.target_labels <@ ARRAY(
                         SELECT label::text FROM agent_labels WHERE agent_id = ${agentId}::uuid) END
       ORDER BY d.due_at LIMIT ${limit}
       FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE webhook_deliveries d
       SET status = 'acquired', attempts = d.attempts + 1, acquired_by = ${agentId}::uuid,
           due_at = now() + make_interval(secs => s.timeout_seconds + ${CLAIM_MARGIN_SECONDS})
      FROM c, webhook_subscriptions s
     WHERE d.id = c.id AND s.id = d.subscription_id
    RETURNING d.id, d.subscription_id, d.event_id, d.event_type, d.payload, d.attempts, s.max_retries,
              s.timeout_seconds, s.url_encrypted, s.auth_header_encrypted, s.secret_encrypted`;
}

/** A delivery created already claimed for its one attempt (the test event). */
export async function insertClaimed(
  db: Db,
  subscriptionId: string,
  eventId: string,
  eventType: string,
  payload: string,
): Promise<ClaimedDelivery> {
  const rows = await db.$queryRaw<ClaimedDelivery[]>`
    WITH d AS (
      INSERT INTO webhook_deliveries (subscription_id, event_id, event_type, payload, status, attempts, due_at)
      SELECT ${subscriptionId}::uuid, ${eventId}::uuid, ${eventType}, ${payload}, 'acquired', 1,
             now() + make_interval(secs => s.timeout_seconds + ${CLAIM_MARGIN_SECONDS})
        FROM webhook_subscriptions s WHERE s.id = ${subscriptionId}::uuid
      RETURNING *
    )
    SELECT d.id, d.subscription_id, d.event_id, d.event_type, d.payload, d.attempts, 1 AS max_retries,
           s.timeout_seconds, s.url_encrypted, s.auth_header_encrypted, s.secret_encrypted
      FROM d JOIN webhook_subscriptions s ON s.id = d.subscription_id`;
  return rows[0] as ClaimedDelivery;
}

export interface AttemptRecord {
  deliveryId: string;
  attempt: number;
  success: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number | null;
  next: { status: "success" | "failed" | "dead"; dueAt: Date };
}

/**
 * Records attempts and moves their deliveries on, in one statement, each only while the
 * recorder still holds that attempt's claim (status acquired, same attempt number and holder):
 * a late result of a claim that expired and was taken over is dropped, and the attempt's
 * primary key refuses a second record. Returns the ids recorded.
 *
 * Committed lazily (LAZY_COMMIT).
 */
export async function recordAttempts(db: Db, agentId: string | null, records: readonly AttemptRecord[]): Promise<string[]> {
  if (records.length === 0) return [];
  const col = <T>(f: (r: AttemptRecord) => T) => records.map(f);
  const rows = await db.$queryRaw<{ delivery_id: string }[]>`
    WITH r AS (
      SELECT * FROM unnest(${col((r) => r.deliveryId)}::uuid[], ${col((r) => r.attempt)}::int[],
                           ${col((r) => r.next.status)}::text[], ${col((r) => r.next.dueAt)}::timestamptz[],
                           ${col((r) => r.statusCode)}::int[], ${col((r) => r.error)}::text[],
                           ${col((r) => r.durationMs)}::int[], ${col((r) => r.success)}::boolean[])
             AS r(delivery_id, attempt, status, due_at, status_code, error, duration_ms, success)
       WHERE ${LAZY_COMMIT}
    ), d AS (
      UPDATE webhook_deliveries w
         SET status = r.status, due_at = r.due_at, last_attempt_at = now(), last_status_code = r.status_code,
             last_error = r.error, completed_at = CASE WHEN r.status IN ('success', 'dead') THEN now() END
        FROM r
       WHERE w.id = r.delivery_id AND w.status = 'acquired' AND w.attempts = r.attempt
         AND w.acquired_by IS NOT DISTINCT FROM ${agentId}::uuid
      RETURNING w.id, r.attempt, r.status_code, r.error, r.duration_ms, r.success
    )
    INSERT INTO webhook_delivery_attempts (delivery_id, attempt, delivered_by, status_code, error, duration_ms, success)
    SELECT d.id, d.attempt, coalesce(${agentId}::text, 'broker'), d.status_code, d.error, d.duration_ms, d.success FROM d
    RETURNING delivery_id`;
  return rows.map((r) => r.delivery_id);
}

/** An agent's claimed delivery, with the subscription's limits, or null when it holds no such claim. */
export async function findAgentClaim(db: Db, deliveryId: string, agentId: string) {
  const rows = await db.$queryRaw<{ attempts: number; max_retries: number }[]>`
    SELECT d.attempts, s.max_retries FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
     WHERE d.id = ${deliveryId}::uuid AND d.status = 'acquired' AND d.acquired_by = ${agentId}::uuid`;
  return rows[0] ?? null;
}

/** Deletes finished deliveries and dispatched events older than `before` (at most `limit` of each per run). */
export async function deleteOld(db: Db, before: Date, limit: number): Promise<number> {
  const deliveries = await db.$executeRaw`
    DELETE FROM webhook_deliveries WHERE id IN (
      SELECT id FROM webhook_deliveries WHERE status IN ('success', 'dead') AND completed_at < ${before}::timestamptz
       LIMIT ${limit})`;
  const events = await db.$executeRaw`
    DELETE FROM domain_events WHERE id IN (
      SELECT id FROM domain_events WHERE occurred_at < ${before}::timestamptz AND dispatched_at IS NOT NULL LIMIT ${limit})`;
  return deliveries + events;
}
