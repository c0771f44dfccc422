import type { Db } from "../db/client.js";
import { moduleLogger } from "../logger.js";
import { findAgentEvent, type AgentEventRow } from "../agent-events/store.js";
import { findObject } from "../deployment-objects/store.js";

const log = moduleLogger("agent-events");
type Listener = { agentId: string | null; stackId: string | null; fn: (event: AgentEventRow) => void };

/** Fans out agent-event notifications ("agentId:eventId"), loading each event once. */
export class AgentEventFeed {
  private readonly listeners = new Set<Listener>();

  constructor(private readonly db: Db) {}

  /** `agentId` null means every agent (the admin's view); `stackId` keeps events for objects of that stack. */
  listen(agentId: string | null, fn: (event: AgentEventRow) => void, stackId: string | null = null): () => void {
    const listener = { agentId, stackId, fn };
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async notified(payload: string): Promise<void> {
    const [agentId, eventId] = payload.split(":");
    const listeners = [...this.listeners].filter((l) => l.agentId === null || l.agentId === agentId);
    if (listeners.length === 0 || !eventId) return;
    try {
      const event = await findAgentEvent(this.db, eventId);
      if (!event) return;
      // The object's stack is read only when a listener filters by stack.
      const stackId = listeners.some((l) => l.stackId !== null)
        ? ((await findObject(this.db, event.deploymentObjectId))?.stackId ?? null)
        : null;
      for (const l of listeners) if (l.stackId === null || l.stackId === stackId) l.fn(event);
    } catch (err) {
      log.error({ err }, "loading an agent event failed");
    }
  }
}
