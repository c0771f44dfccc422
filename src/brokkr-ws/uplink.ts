import { reportAgentEvent } from "../agent-events/service.js";
import { recordHealthReport } from "../agents/health.js";
import { getWritingAgent, heartbeat } from "../agents/service.js";
import type { Database } from "../db/client.js";
import type { InputLimits } from "../validation.js";
import type { ControlFrame } from "./wire.js";

export type AgentIdentity = { role: "AGENT"; id: string };

/**
 * A control frame from the agent, written by the same services as REST's heartbeat, events
 * and health-status: the agent must be live and ACTIVE (agentReceives), an event's or health
 * entry's object must be of a stack that reaches it. The caller has checked that the body names
 * this agent. A refusal throws a BrokkrError, as over REST.
 */
export async function applyControlFrame(
  db: Database,
  identity: AgentIdentity,
  frame: ControlFrame,
  limits: InputLimits,
): Promise<void> {
  switch (frame.type) {
    case "heartbeat": {
      const agent = await getWritingAgent(db, identity, identity.id);
      await heartbeat(db, agent, { k8sReachable: frame.body.k8s_reachable, k8sApiLatencyMs: frame.body.k8s_api_latency_ms });
      return;
    }
    case "agent_event": {
      const { deployment_object_id, event_type, status, message } = frame.body;
      await reportAgentEvent(db, identity, {
        agentId: identity.id,
        deploymentObjectId: deployment_object_id,
        eventType: event_type,
        status,
        message,
      });
      return;
    }
    case "agent_health": {
      const agent = await getWritingAgent(db, identity, identity.id);
      const { deployment_object_id, status, summary, checked_at } = frame.body;
      await recordHealthReport(db, agent, [{ id: deployment_object_id, status, summary, checked_at }], limits);
      return;
    }
  }
}
