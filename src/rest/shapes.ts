import type { AgentEventRow } from "../agent-events/store.js";
import type { DeploymentObjectRow } from "../deployment-objects/store.js";
import type { StackRow } from "../stacks/store.js";
import type { AgentRow } from "../agents/store.js";
import type { GeneratorRow } from "../generators/store.js";
import type { HealthRow } from "../agents/health-store.js";

// Brokkr v1 wire shapes (snake_case), so Brokkr's agents and SDKs can talk to this broker.
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function objectJson(o: DeploymentObjectRow) {
  return {
    id: o.id,
    sequence_id: Number(o.sequenceId),
    stack_id: o.stackId,
    yaml_content: o.yamlContent,
    yaml_checksum: o.yamlChecksum,
    submitted_at: iso(o.submittedAt),
    is_deletion_marker: o.isDeletionMarker,
    created_at: iso(o.createdAt),
    updated_at: iso(o.updatedAt),
    deleted_at: iso(o.deletedAt),
  };
}

export function stackJson(s: StackRow) {
  return {
    id: s.id,
    name: s.name,
    description: s.description,
    generator_id: s.generatorId,
    created_at: iso(s.createdAt),
    updated_at: iso(s.updatedAt),
    deleted_at: iso(s.deletedAt),
  };
}

export function eventJson(e: AgentEventRow) {
  return {
    id: e.id,
    agent_id: e.agentId,
    deployment_object_id: e.deploymentObjectId,
    event_type: e.eventType,
    status: e.status,
    message: e.message,
    created_at: iso(e.createdAt),
    updated_at: iso(e.updatedAt),
    deleted_at: iso(e.deletedAt),
  };
}

export function agentJson(a: AgentRow) {
  return {
    id: a.id,
    name: a.name,
    cluster_name: a.clusterName,
    status: a.status,
    last_heartbeat: iso(a.lastHeartbeat),
    k8s_reachable: a.k8sReachable,
    k8s_api_latency_ms: a.k8sApiLatencyMs,
    created_at: iso(a.createdAt),
    updated_at: iso(a.updatedAt),
    deleted_at: iso(a.deletedAt),
  };
}

export function generatorJson(g: GeneratorRow) {
  return {
    id: g.id,
    name: g.name,
    description: g.description,
    is_active: g.deletedAt === null,
    // This broker has no system generator (Brokkr's `__system__`).
    is_system: false,
    last_active_at: iso(g.lastActiveAt),
    created_at: iso(g.createdAt),
    updated_at: iso(g.updatedAt),
    deleted_at: iso(g.deletedAt),
  };
}

export const agentLabelJson = (l: { id: string; agentId: string; label: string }) => ({
  id: l.id,
  agent_id: l.agentId,
  label: l.label,
});
export const agentAnnotationJson = (a: { id: string; agentId: string; key: string; value: string }) => ({
  id: a.id,
  agent_id: a.agentId,
  key: a.key,
  value: a.value,
});
export const stackLabelJson = (l: { id: string; stackId: string; label: string }) => ({
  id: l.id,
  stack_id: l.stackId,
  label: l.label,
});
export const stackAnnotationJson = (a: { id: string; stackId: string; key: string; value: string }) => ({
  id: a.id,
  stack_id: a.stackId,
  key: a.key,
  value: a.value,
});
export const targetJson = (t: { id: string; agentId: string; stackId: string }) => ({
  id: t.id,
  agent_id: t.agentId,
  stack_id: t.stackId,
});
export const registrationJson = (r: { id: string; agentId: string; generatorId: string; createdAt: Date }) => ({
  id: r.id,
  agent_id: r.agentId,
  generator_id: r.generatorId,
  registered_at: r.createdAt.toISOString(),
});

export function healthJson(h: HealthRow) {
  return {
    id: h.id,
    agent_id: h.agentId,
    deployment_object_id: h.deploymentObjectId,
    status: h.status,
    summary: h.summary,
    checked_at: iso(h.checkedAt),
    created_at: iso(h.createdAt),
    updated_at: iso(h.updatedAt),
  };
}
