import { agentReceives } from "../associations/service.js";
import type { AgentRow } from "../agents/store.js";
import { listAgents } from "../agents/service.js";
import type { AgentListFilter } from "../agents/store.js";
import type { Database, Db } from "../db/client.js";
import type { AgentEventRow } from "../delivery/types.js";
import type { Connection, Page } from "../graphql/pagination.js";
import * as store from "./store.js";

/** Without a websocket, a heartbeat this recent means the agent polls REST (3 x the agent's 30 s default). */
export const REST_HEARTBEAT_WINDOW_SECONDS = 90;

/** Default of BROKKR__FLEET__OVERDUE_SECONDS: an unreported latest object older than this is overdue. */
export const DEFAULT_OVERDUE_SECONDS = 300;

export type ConnectionState = "WEBSOCKET" | "REST" | "OFFLINE";

export interface FleetStatus {
  agent: AgentRow;
  connection: ConnectionState;
  since: Date | null;
  brokerId: string | null;
  lastHeartbeat: Date | null;
  heartbeatAgeSeconds: number | null;
  k8sReachable: boolean | null;
  k8sApiLatencyMs: number | null;
  pendingObjects: number;
  /** Associated stacks whose latest object the agent last reported as FAILURE. */
  failedObjects: number;
  /** Pending objects older than the overdue threshold. */
  overdueObjects: number;
  /** The one rule of an agent failing (the console's overview, the API): see isFailing. */
  failing: boolean;
  /** Pending work orders it may claim (none while it does not receive), and those it has claimed. */
  pendingWorkOrders: number;
  claimedWorkOrders: number;
  lastEvent: AgentEventRow | null;
  health: { healthy: number; degraded: number; failing: number; unknown: number };
}

/**
 * An agent is failing when, for any associated stack, its latest report on the stack's latest
 * object is FAILURE, or that object's deployment health is failing. Older objects, and a failure
 * on one stack hidden by a later success on another, do not decide it (its newest event alone would).
 */
export function isFailing(row: Pick<store.FleetStatsRow, "failed_objects" | "failing"> | undefined): boolean {
  return (row?.failed_objects ?? 0) > 0 || (row?.failing ?? 0) > 0;
}

function toStatus(agent: AgentRow, row: store.FleetStatsRow | undefined, lastEvent: AgentEventRow | null): FleetStatus {
  const age = row?.heartbeat_age ?? null;
  const connection: ConnectionState = row?.broker_id
    ? "WEBSOCKET"
    : age !== null && age <= REST_HEARTBEAT_WINDOW_SECONDS
      ? "REST"
      : "OFFLINE";
  return {
    agent,
    connection,
    since: connection === "WEBSOCKET" ? (row?.connected_at ?? null) : (row?.disconnected_at ?? null),
    brokerId: row?.broker_id ?? null,
    lastHeartbeat: agent.lastHeartbeat,
    heartbeatAgeSeconds: age,
    k8sReachable: agent.k8sReachable,
    k8sApiLatencyMs: agent.k8sApiLatencyMs,
    // An agent that does not receive is sent nothing, so nothing is pending for it.
    pendingObjects: agentReceives(agent) ? (row?.pending ?? 0) : 0,
    failedObjects: row?.failed_objects ?? 0,
    overdueObjects: agentReceives(agent) ? (row?.overdue ?? 0) : 0,
    failing: isFailing(row),
    pendingWorkOrders: agentReceives(agent) ? (row?.pending_work_orders ?? 0) : 0,
    claimedWorkOrders: row?.claimed_work_orders ?? 0,
    lastEvent,
    health: { healthy: row?.healthy ?? 0, degraded: row?.degraded ?? 0, failing: row?.failing ?? 0, unknown: row?.unknown ?? 0 },
  };
}

/** The fleet status of many agents: two statements whatever their number. */
export async function fleetStatuses(
  db: Db,
  agents: AgentRow[],
  overdueSeconds = DEFAULT_OVERDUE_SECONDS,
): Promise<FleetStatus[]> {
  const ids = agents.map((a) => a.id);
  const stats = new Map((await store.fleetStats(db, ids, overdueSeconds)).map((r) => [r.agent_id, r]));
  const eventIds = [...stats.values()].flatMap((r) => (r.last_event_id ? [r.last_event_id] : []));
  const events = new Map((await store.eventsByIds(db, eventIds)).map((e) => [e.id, e]));
  return agents.map((a) => {
    const row = stats.get(a.id);
    return toStatus(a, row, (row?.last_event_id && events.get(row.last_event_id)) || null);
  });
}

/** A page of the fleet, in the order and with the cursors of `agents`. */
export async function fleetPage(
  db: Database,
  filter: AgentListFilter,
  page: Page,
  overdueSeconds = DEFAULT_OVERDUE_SECONDS,
): Promise<Connection<FleetStatus>> {
  const agents = await listAgents(db, filter, page);
  const statuses = await fleetStatuses(
    db,
    agents.edges.map((e) => e.node),
    overdueSeconds,
  );
  return { edges: statuses.map((node, i) => ({ node, cursor: agents.edges[i]?.cursor ?? "" })), pageInfo: agents.pageInfo };
}
