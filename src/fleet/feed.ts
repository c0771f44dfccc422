import { findAgentsByIds } from "../agents/store.js";
import type { Db } from "../db/client.js";
import type { Channel } from "../delivery/listener.js";
import { moduleLogger } from "../logger.js";
import { type FleetStatus, fleetStatuses } from "./service.js";

const log = moduleLogger("fleet-feed");

export type FleetChangeKind = "CONNECTED" | "DISCONNECTED" | "HEARTBEAT" | "EVENT" | "HEALTH" | "UPDATED";
/** What a notification says happened; a connection change becomes CONNECTED or DISCONNECTED once read. */
type RawKind = Exclude<FleetChangeKind, "CONNECTED" | "DISCONNECTED"> | "CONNECTION";

export interface FleetChange {
  kind: FleetChangeKind;
  agentId: string;
  status: FleetStatus;
}

/** Changes of one agent within this window are coalesced; a batch reads at most this many agents. */
const COALESCE_MS = 100;
const MAX_BATCH = 500;

/** The notification channels and payloads that say an agent's fleet status changed (migration 0016). */
export function rawChange(channel: Channel, payload: string): { kind: RawKind; agentId: string } | null {
  const [head, id] = payload.split(":");
  if (!head || !id) return null;
  if (channel === "brokkr_agent_events") return { kind: "EVENT", agentId: head };
  if (channel === "brokkr_identities") return head === "agent" ? { kind: "UPDATED", agentId: id } : null;
  if (channel !== "brokkr_fleet") return null;
  if (head === "connection") return { kind: "CONNECTION", agentId: id };
  if (head === "heartbeat") return { kind: "HEARTBEAT", agentId: id };
  if (head === "health") return { kind: "HEALTH", agentId: id };
  return null;
}

/**
 * The live fleet for every subscriber of this broker (fleetChanges, /api/v1/fleet/live). Hears
 * what any broker changed through notifications, coalesces them per agent for COALESCE_MS, and
 * reads the changed agents' status once per batch (four statements whatever the number of
 * subscribers or agents in it); with no subscriber it reads nothing.
 */
export class FleetFeed {
  private readonly listeners = new Set<(changes: FleetChange[]) => void>();
  private pending = new Map<string, RawKind>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly coalesceMs = COALESCE_MS,
  ) {}

  get listenerCount(): number {
    return this.listeners.size;
  }

  listen(fn: (changes: FleetChange[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  notified(channel: Channel, payload: string): void {
    if (this.listeners.size === 0) return;
    const change = rawChange(channel, payload);
    if (!change) return;
    // A connection change outranks a heartbeat or event arriving in the same window.
    if (this.pending.get(change.agentId) !== "CONNECTION") this.pending.set(change.agentId, change.kind);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flushing.then(() => this.flush());
    }, this.coalesceMs);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
    this.listeners.clear();
  }

  private async flush(): Promise<void> {
    while (this.pending.size > 0 && this.listeners.size > 0) {
      const batch = [...this.pending].slice(0, MAX_BATCH);
      for (const [id] of batch) this.pending.delete(id);
      try {
        const changes = await this.read(new Map(batch));
        for (const fn of [...this.listeners]) fn(changes);
      } catch (err) {
        log.warn({ err }, "reading changed fleet statuses failed; those changes are skipped");
      }
    }
    this.pending.clear();
  }

  private async read(kinds: Map<string, RawKind>): Promise<FleetChange[]> {
    const agents = await findAgentsByIds(this.db, [...kinds.keys()]);
    const statuses = await fleetStatuses(this.db, agents);
    return statuses.map((status) => {
      const raw = kinds.get(status.agent.id) ?? "UPDATED";
      const kind: FleetChangeKind =
        raw === "CONNECTION" ? (status.connection === "WEBSOCKET" ? "CONNECTED" : "DISCONNECTED") : raw;
      return { kind, agentId: status.agent.id, status };
    });
  }
}
