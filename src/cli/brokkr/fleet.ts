/** `brokkr fleet`: the fleet query, one row per agent. */
export const FLEET_QUERY = `query($after: String, $labels: [String!]) { fleet(first: 100, after: $after, filter: { labels: $labels }) {
  edges { node { agent { id name clusterName status } connection since brokerId heartbeatAgeSeconds k8sReachable k8sApiLatencyMs
    pendingObjects lastEvent { status createdAt deploymentObject { sequenceId } } health { healthy degraded failing unknown } } }
  pageInfo { hasNextPage endCursor } } }`;

export interface FleetNode {
  agent: { id: string; name: string; clusterName: string; status: string };
  connection: string;
  since: string | null;
  heartbeatAgeSeconds: number | null;
  k8sReachable: boolean | null;
  k8sApiLatencyMs: number | null;
  pendingObjects: number;
  lastEvent: { status: string; createdAt: string; deploymentObject: { sequenceId: string } } | null;
  health: { healthy: number; degraded: number; failing: number; unknown: number };
}

export const FLEET_COLUMNS = [
  "name",
  "cluster",
  "status",
  "connection",
  "since",
  "heartbeat",
  "k8s",
  "pending",
  "lastEvent",
  "health",
];

export function fleetRow(n: FleetNode): Record<string, unknown> {
  const k8s = n.k8sReachable === null ? null : n.k8sReachable ? `up ${n.k8sApiLatencyMs ?? "?"} ms` : "unreachable";
  const h = n.health;
  return {
    name: n.agent.name,
    cluster: n.agent.clusterName,
    status: n.agent.status,
    connection: n.connection,
    since: n.since,
    heartbeat: n.heartbeatAgeSeconds === null ? null : `${n.heartbeatAgeSeconds}s ago`,
    k8s,
    pending: n.pendingObjects,
    lastEvent: n.lastEvent ? `${n.lastEvent.status} #${n.lastEvent.deploymentObject.sequenceId}` : null,
    health: `${h.healthy} ok / ${h.degraded} degraded / ${h.failing} failing`,
  };
}
