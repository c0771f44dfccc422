import type { KubeEventRow, LogGapRow, PodLogRow, TelemetryRow } from "./store.js";

/*
 * Stored telemetry in Brokkr's wire shapes (reference/brokkr.md §2.4: `{type, body}` with the
 * agent's snake_case bodies), for the REST history and the /api/v1/stacks/{id}/live tail.
 */

export function isLogRow(row: TelemetryRow): row is PodLogRow {
  return "line" in row;
}

export function isGapRow(row: TelemetryRow): row is LogGapRow {
  return "droppedCount" in row;
}

export function k8sEventBody(e: KubeEventRow) {
  const o = e.involvedObject;
  return {
    agent_id: e.agentId,
    stack_id: e.stackId,
    observed_at: e.observedAt.toISOString(),
    reason: e.reason,
    message: e.message,
    event_type: e.eventType,
    source: e.source,
    involved_object: { api_version: o.apiVersion, kind: o.kind, namespace: o.namespace, name: o.name, uid: o.uid },
  };
}

export function podLogBody(l: PodLogRow) {
  return {
    agent_id: l.agentId,
    stack_id: l.stackId,
    namespace: l.namespace,
    pod: l.pod,
    container: l.container,
    ts: l.ts.toISOString(),
    line: l.line,
  };
}

export function logGapBody(g: { agentId: string; stackId: string; sinceTs: Date; droppedCount: number; reason: string }) {
  return {
    agent_id: g.agentId,
    stack_id: g.stackId,
    since_ts: g.sinceTs.toISOString(),
    dropped_count: g.droppedCount,
    reason: g.reason,
  };
}

/** The REST history rows (AgentK8sEvent, AgentPodLog): the wire body plus id and created_at. */
export const k8sEventJson = (e: KubeEventRow) => ({ id: e.id, ...k8sEventBody(e), created_at: e.createdAt.toISOString() });
export const podLogJson = (l: PodLogRow) => ({ id: l.id, ...podLogBody(l), created_at: l.createdAt.toISOString() });

/** One live-tail frame. */
export function liveFrame(row: TelemetryRow): string {
  if (isLogRow(row)) return JSON.stringify({ type: "pod_log_line", body: podLogBody(row) });
  if (isGapRow(row)) return JSON.stringify({ type: "log_gap", body: logGapBody(row) });
  return JSON.stringify({ type: "k8s_event", body: k8sEventBody(row) });
}
