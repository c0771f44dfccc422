import { z } from "zod";
import { recentEventsOfAgent } from "../agent-events/store.js";
import { type FleetStatus, fleetPage, fleetStatuses } from "../fleet/service.js";
import { allPages, idParams, ok, route, uuid } from "./route.js";
import { eventJson } from "./shapes.js";

/** Brokkr's fleet-status view adds this many of the agent's newest events (reference §1.10). */
const RECENT_EVENTS = 20;

const secondsSince = (d: Date) => Math.max(0, Math.floor((Date.now() - d.getTime()) / 1000));

/** Brokkr's FleetAgentRecord: measured values only, no verdicts. */
export function fleetRecordJson(s: FleetStatus) {
  const lastEventAt = s.lastEvent?.createdAt ?? null;
  const wsConnected = s.connection === "WEBSOCKET";
  return {
    agent_id: s.agent.id,
    name: s.agent.name,
    cluster_name: s.agent.clusterName,
    status: s.agent.status,
    // Presence across brokers (agent_connections), not only this broker's sockets.
    ws_connected: wsConnected,
    connected_since: wsConnected ? (s.since?.toISOString() ?? null) : null,
    last_heartbeat: s.lastHeartbeat?.toISOString() ?? null,
    heartbeat_age_seconds: s.heartbeatAgeSeconds === null ? null : Math.max(0, s.heartbeatAgeSeconds),
    pending_object_count: s.pendingObjects,
    pending_work_orders: s.pendingWorkOrders,
    claimed_work_orders: s.claimedWorkOrders,
    last_event_at: lastEventAt?.toISOString() ?? null,
    seconds_since_last_event: lastEventAt ? secondsSince(lastEventAt) : null,
    health_failing: s.health.failing,
    health_degraded: s.health.degraded,
    k8s_reachable: s.k8sReachable,
    k8s_api_latency_ms: s.k8sApiLatencyMs,
  };
}

// Admin only, as Brokkr's (reference §1.3 fleet and admin rows, §1.10).
export const fleetRoutes = [
  route({
    op: "list_fleet",
    roles: ["ADMIN"],
    // `pak_id` is a view filter (the agents registered with that generator), not an authorization boundary.
    query: z.object({ pak_id: uuid.optional() }),
    handle: async ({ query, deps }) => {
      const statuses = await allPages((page) => fleetPage(deps.db, { registeredWith: query.pak_id }, page));
      return ok(statuses.map(fleetRecordJson));
    },
  }),
  route({
    op: "get_agent_fleet_status",
    roles: ["ADMIN"],
    params: idParams,
    agent: "read",
    handle: async ({ agent, deps }) => {
      const [[status], events] = await Promise.all([
        fleetStatuses(deps.db, [agent]),
        recentEventsOfAgent(deps.db, agent.id, RECENT_EVENTS),
      ]);
      return ok({ record: fleetRecordJson(status as FleetStatus), recent_events: events.map(eventJson) });
    },
  }),
  route({
    op: "list_ws_connections",
    roles: ["ADMIN"],
    handle: async ({ deps }) => {
      // This broker's agent sockets, as Brokkr's in-memory registry is per process.
      const connections = deps.agentSockets.connections();
      return ok({
        connected_agents: new Set(connections.map((c) => c.agent_id)).size,
        connections,
        // Consumer websockets: `/api/v1/fleet/live` (`/stacks/{id}/live` is not built yet).
        live_subscribers: deps.liveSubscribers?.() ?? 0,
      });
    },
  }),
];
