import type { Db } from "../db/client.js";
import { moduleLogger } from "../logger.js";
import { findAgentEvent, type AgentEventRow } from "../agent-events/store.js";

const log = moduleLogger("agent-events");
type Listener = { agentId: string | null; fn: (event: AgentEventRow) => void };

/** Fans out agent-event notifications ("agentId:eventId"), loading each event once. */
export class AgentEventFeed {
  private readonly listeners = new Set<Listener>();

  constructor(private readonly db: Db) {}

  /** `agentId` null means every agent (the admin's view). */
  listen(agentId: string | null, fn: (event: AgentEventRow) => void): () => void {
    const listener = { agentId, fn };
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async notified(payload: string): Promise<void> {
    const [agentId, eventId] = payload.split(":");
    const listeners = [...this.listeners].filter((l) => l.agentId === null || l.agentId === agentId);
    if (listeners.length === 0 || !eventId) return;
    try {
      const event = await findAgentEvent(this.db, eventId);
      if (event) for (const l of listeners) l.fn(event);
    } catch (err) {
      log.error({ err }, "loading an agent event failed");
    }
  }
}
