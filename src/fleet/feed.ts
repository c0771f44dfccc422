import { findAgentsByIds } from "../agents/store.js";
import type { Db } from "../db/client.js";
import type { Channel } from "../delivery/listener.js";
import { moduleLogger } from "../logger.js";
import { DEFAULT_OVERDUE_SECONDS, type FleetStatus, fleetStatuses } from "./service.js";
import { recentHeartbeats } from "./store.js";

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
/**
 * Heartbeats are read, not notified (migration 0016 says why): once a second, while anyone
 * subscribes, the heartbeats of the last HEARTBEAT_WINDOW_SECONDS. The window outlasts a
 * heartbeat transaction that commits a while after its now() was taken; `seen` keeps each agent
 * from being reported twice for one heartbeat.
 */
const HEARTBEAT_POLL_MS = 1000;
const HEARTBEAT_WINDOW_SECONDS = 10;

/** The notification channels and payloads that say an agent's fleet status changed (migrations 0016, 0018). */
export function rawChange(channel: Channel, payload: string): { kind: RawKind; agentId: string } | null {
  const [head, id] = payload.split(":");
  if (!head || !id) return null;
  if (channel === "brokkr_agent_events") return { kind: "EVENT", agentId: head };
  if (channel === "brokkr_identities") return head === "agent" ? { kind: "UPDATED", agentId: id } : null;
  if (channel !== "brokkr_fleet") return null;
  if (head === "connection") return { kind: "CONNECTION", agentId: id };
  if (head === "health") return { kind: "HEALTH", agentId: id };
  // A new agent (migration 0018): it appears before anyone activates it.
  if (head === "agent") return { kind: "UPDATED", agentId: id };
  return null;
}

/**
 * The live fleet for every subscriber of this broker (fleetChanges, /api/v1/fleet/live). Hears
 * what any broker changed through notifications (heartbeats: by polling), coalesces them per agent for COALESCE_MS, and
 * reads the changed agents' status once per batch (four statements whatever the number of
 * subscribers or agents in it); with no subscriber it reads nothing.
 */
export class FleetFeed {
  private readonly listeners = new Set<(changes: FleetChange[]) => void>();
  private pending = new Map<string, RawKind>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private poller: NodeJS.Timeout | undefined;
  private polling = false;
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly coalesceMs = COALESCE_MS,
    /** Read at each batch, so a configuration reload changes it (BROKKR__FLEET__OVERDUE_SECONDS). */
    private readonly overdueSeconds: () => number = () => DEFAULT_OVERDUE_SECONDS,
  ) {}

  get listenerCount(): number {
    return this.listeners.size;
  }

  listen(fn: (changes: FleetChange[]) => void): () => void {
    this.listeners.add(fn);
    if (!this.poller) {
      this.poller = setInterval(() => void this.pollHeartbeats(), HEARTBEAT_POLL_MS);
      this.poller.unref();
    }
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size > 0) return;
      clearInterval(this.poller);
      this.poller = undefined;
      this.seen.clear();
    };
  }

  notified(channel: Channel, payload: string): void {
    const change = rawChange(channel, payload);
    if (change) this.changed(change.agentId, change.kind);
  }

  private changed(agentId: string, kind: RawKind): void {
    if (this.listeners.size === 0) return;
    // A connection change outranks a heartbeat or event arriving in the same window.
    if (this.pending.get(agentId) !== "CONNECTION") this.pending.set(agentId, kind);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flushing.then(() => this.flush());
    }, this.coalesceMs);
  }

  private async pollHeartbeats(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const rows = await recentHeartbeats(this.db, HEARTBEAT_WINDOW_SECONDS);
      const current = new Map(rows.map((r) => [r.id, r.last_heartbeat.getTime()]));
      for (const [id, at] of current) if (this.seen.get(id) !== at) this.changed(id, "HEARTBEAT");
      // Only the window's agents are remembered: memory follows the heartbeat rate, not the fleet.
      this.seen.clear();
      for (const [id, at] of current) this.seen.set(id, at);
    } catch (err) {
      log.warn({ err }, "reading recent heartbeats failed");
    } finally {
      this.polling = false;
    }
  }

  stop(): void {
    clearInterval(this.poller);
    this.poller = undefined;
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
    const statuses = await fleetStatuses(this.db, agents, this.overdueSeconds());
    return statuses.map((status) => {
      const raw = kinds.get(status.agent.id) ?? "UPDATED";
      const kind: FleetChangeKind =
        raw === "CONNECTION" ? (status.connection === "WEBSOCKET" ? "CONNECTED" : "DISCONNECTED") : raw;
      return { kind, agentId: status.agent.id, status };
    });
  }
}
