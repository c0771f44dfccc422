import { type AuditEntry, originColumns } from "../entry.js";
import { idCandidates, pickResource, resourceTypeOf, restAction } from "./naming.js";
import type { RequestOrigin } from "./origin.js";
import { outcomeOf } from "./outcome.js";
import { redactInput } from "./redact.js";

/**
 * A control frame of Brokkr's agent websocket (heartbeat, agent_event, agent_health) as an
 * audit entry, named as its REST twin (record_heartbeat, create_event, update_health_status).
 */
export function frameEntry(
  agentId: string,
  frame: { type: string; body: Record<string, unknown> },
  origin: RequestOrigin | undefined,
  err: unknown,
): AuditEntry {
  const action = restAction(frame.type);
  const resource = pickResource(resourceTypeOf(action), [...idCandidates(frame.body), { type: "agent", id: agentId }]);
  const o = originColumns(origin);
  return {
    at: new Date(),
    actorType: "agent",
    actorId: agentId,
    action,
    resourceType: resource.type,
    resourceId: resource.id,
    details: {
      via: "agent-ws",
      operation: frame.type,
      input: redactInput(frame.body),
      ...outcomeOf(err),
      ...(resource.ref ? { resource_ref: resource.ref } : {}),
      ...o.extra,
    },
    ipAddress: o.ipAddress,
    userAgent: o.userAgent,
  };
}
