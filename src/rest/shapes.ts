import type { AgentEventRow } from "../agent-events/store.js";
import type { DeploymentObjectRow } from "../deployment-objects/store.js";
import type { StackRow } from "../stacks/store.js";

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
