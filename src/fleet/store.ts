import { queryRows, type Db } from "../db/client.js";

// The connection tables of migration 0009. A broker is live while its seen_at is younger than
// BROKER_STALE_SECONDS; it refreshes it every BROKER_REFRESH_MS.
export const BROKER_REFRESH_MS = 15_000;
export const BROKER_STALE_SECONDS = 45;
/** A dead broker's rows (and its agents' connection rows) are purged after this. */
const BROKER_PURGE_SECONDS = 3600;

export async function registerBroker(db: Db, brokerId: string): Promise<void> {
  await db.$executeRaw`INSERT INTO broker_instances (id) VALUES (${brokerId}::uuid) ON CONFLICT (id) DO UPDATE SET seen_at = now()`;
}

/** Refreshes this broker's seen_at and purges brokers gone for an hour: one statement. */
export async function touchBroker(db: Db, brokerId: string): Promise<void> {
  await db.$executeRaw`
    WITH purged AS (
      DELETE FROM broker_instances WHERE seen_at < now() - make_interval(secs => ${BROKER_PURGE_SECONDS}) AND id <> ${brokerId}::uuid)
    INSERT INTO broker_instances (id) VALUES (${brokerId}::uuid) ON CONFLICT (id) DO UPDATE SET seen_at = now()`;
}

/**
 * These agents' first websocket on this broker opened (one statement for many: a reconnect
 * storm). Their closed rows elsewhere, and rows of brokers that are gone, are deleted: so each
 * agent keeps at most one row per live broker. This and markManyDisconnected run by plain pg
 * (queryRows): a reconnect storm's batches carry thousands of ids.
 */
export async function markManyConnected(db: Db, agentIds: string[], brokerId: string): Promise<void> {
  await queryRows(
    db,
    `WITH ids AS (SELECT DISTINCT unnest($1::uuid[]) AS agent_id),
     cleared AS (
       DELETE FROM agent_connections c USING ids
        WHERE c.agent_id = ids.agent_id AND c.broker_id <> $2::uuid
          AND (c.disconnected_at IS NOT NULL OR c.broker_id IN (
               SELECT id FROM broker_instances WHERE seen_at < now() - make_interval(secs => $3))))
     INSERT INTO agent_connections (agent_id, broker_id, transport, connected_at)
     SELECT agent_id, $2::uuid, 'WEBSOCKET', now() FROM ids
     ON CONFLICT (agent_id, broker_id) DO UPDATE SET connected_at = now(), disconnected_at = NULL, transport = EXCLUDED.transport`,
    [agentIds, brokerId, BROKER_STALE_SECONDS],
  );
}

/** These agents' last websocket on this broker closed. */
export async function markManyDisconnected(db: Db, agentIds: string[], brokerId: string): Promise<void> {
  await queryRows(
    db,
    `UPDATE agent_connections SET disconnected_at = now()
      WHERE agent_id = ANY($1::uuid[]) AND broker_id = $2::uuid AND disconnected_at IS NULL`,
    [agentIds, brokerId],
  );
}

/** A broker stopping cleanly closes its rows at once rather than after BROKER_STALE_SECONDS. */
export async function closeBroker(db: Db, brokerId: string): Promise<void> {
  await db.$executeRaw`
    WITH closed AS (
      UPDATE agent_connections SET disconnected_at = now() WHERE broker_id = ${brokerId}::uuid AND disconnected_at IS NULL)
    UPDATE broker_instances SET seen_at = now() - make_interval(secs => ${BROKER_STALE_SECONDS}) WHERE id = ${brokerId}::uuid`;
}

export interface FleetStatsRow {
  agent_id: string;
  broker_id: string | null;
  connected_at: Date | null;
  disconnected_at: Date | null;
  heartbeat_age: number | null;
  pending: number;
  failed_objects: number;
  overdue: number;
  healthy: number;
  degraded: number;
  failing: number;
  unknown: number;
  last_event_id: string | null;
  pending_work_orders: number;
  claimed_work_orders: number;
}

/**
 * Connection, heartbeat age, pending, failed and overdue objects, health counts and last event
 * of many agents, in one statement. Objects and health look at the latest live object of each
 * associated stack (the view agent_stack_associations), as the target state does; an object is
 * overdue when it is older than `overdueSeconds` and unreported.
 */
export async function fleetStats(db: Db, agentIds: string[], overdueSeconds: number): Promise<FleetStatsRow[]> {
  if (agentIds.length === 0) return [];
  return db.$queryRaw<FleetStatsRow[]>`
    SELECT a.id AS agent_id, ws.broker_id, ws.connected_at, closed.disconnected_at,
           floor(extract(epoch FROM now() - a.last_heartbeat))::int AS heartbeat_age,
           COALESCE(t.pending, 0)::int AS pending, COALESCE(t.failed_objects, 0)::int AS failed_objects,
           COALESCE(t.overdue, 0)::int AS overdue, COALESCE(t.healthy, 0)::int AS healthy,
           COALESCE(t.degraded, 0)::int AS degraded, COALESCE(t.failing, 0)::int AS failing,
           COALESCE(t.unknown, 0)::int AS unknown, last.id AS last_event_id,
           -- Work orders (migration 0011): pending ones it may claim, and those it holds.
           (SELECT count(*) FROM work_orders w WHERE w.status = 'PENDING'
               AND w.id IN (SELECT work_order_id FROM brokkr_work_orders_targeting(a.id)))::int AS pending_work_orders,
           (SELECT count(*) FROM work_orders w WHERE w.status = 'CLAIMED' AND w.claimed_by = a.id)::int AS claimed_work_orders
      FROM agents a
      LEFT JOIN LATERAL (
        SELECT c.broker_id, c.connected_at FROM agent_connections c JOIN broker_instances b ON b.id = c.broker_id
         WHERE c.agent_id = a.id AND c.disconnected_at IS NULL
           AND b.seen_at >= now() - make_interval(secs => ${BROKER_STALE_SECONDS})
         ORDER BY c.connected_at LIMIT 1) ws ON true
      LEFT JOIN LATERAL (
        -- A gone broker's open row closed, at the latest, when the broker was last seen.
        SELECT max(COALESCE(c.disconnected_at, b.seen_at)) AS disconnected_at
          FROM agent_connections c JOIN broker_instances b ON b.id = c.broker_id WHERE c.agent_id = a.id) closed ON true
      LEFT JOIN LATERAL (
        -- r: the agent's latest report on the stack's latest object (none: pending).
        SELECT count(*) FILTER (WHERE r.status IS NULL) AS pending,
               count(*) FILTER (WHERE r.status = 'FAILURE') AS failed_objects,
               count(*) FILTER (WHERE r.status IS NULL
                                  AND l.created_at < now() - make_interval(secs => ${overdueSeconds})) AS overdue,
               count(*) FILTER (WHERE h.status = 'healthy') AS healthy,
               count(*) FILTER (WHERE h.status = 'degraded') AS degraded,
               count(*) FILTER (WHERE h.status = 'failing') AS failing,
               count(*) FILTER (WHERE h.status IS NOT NULL AND h.status NOT IN ('healthy', 'degraded', 'failing')) AS unknown
          FROM (SELECT DISTINCT ON (d.stack_id) d.id, d.created_at FROM deployment_objects d
                  JOIN agent_stack_associations s ON s.stack_id = d.stack_id AND s.agent_id = a.id
                 WHERE d.deleted_at IS NULL ORDER BY d.stack_id, d.sequence_id DESC) l
          LEFT JOIN LATERAL (
            SELECT e.status FROM agent_events e WHERE e.deployment_object_id = l.id AND e.agent_id = a.id AND e.deleted_at IS NULL
             ORDER BY e.created_at DESC, e.id DESC LIMIT 1) r ON true
          LEFT JOIN deployment_health h ON h.agent_id = a.id AND h.deployment_object_id = l.id) t ON true
      LEFT JOIN LATERAL (
        SELECT e.id FROM agent_events e WHERE e.agent_id = a.id AND e.deleted_at IS NULL
         ORDER BY e.created_at DESC, e.id DESC LIMIT 1) last ON true
     WHERE a.id = ANY(${agentIds}::uuid[])`;
}

export function eventsByIds(db: Db, ids: string[]) {
  return ids.length === 0 ? Promise.resolve([]) : db.agentEvent.findMany({ where: { id: { in: ids } } });
}

/** Agents whose last heartbeat is younger than `windowSeconds`, by the database's clock: one scan of agents. */
export function recentHeartbeats(db: Db, windowSeconds: number) {
  return db.$queryRaw<{ id: string; last_heartbeat: Date }[]>`
    SELECT id, last_heartbeat FROM agents
     WHERE last_heartbeat > now() - make_interval(secs => ${windowSeconds}) AND deleted_at IS NULL`;
}
