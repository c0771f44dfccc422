import { randomUUID } from "node:crypto";
import type { Db } from "../db/client.js";
import { moduleLogger } from "../logger.js";
import * as store from "./store.js";

const log = moduleLogger("presence");

/**
 * Records, for the fleet query, which agents hold an agentDeployments websocket on this broker
 * (migration 0009). Only the 0 -> 1 and 1 -> 0 transitions per agent write, in order per agent;
 * transitions arriving while a write runs go out together (one statement for the connects and
 * one for the disconnects of agents that appear once in the batch: a reconnect storm of
 * thousands of agents is a handful of statements, not one each); plus one statement per
 * BROKER_REFRESH_MS for this broker's liveness. A write that fails is logged: presence is
 * advisory and never holds up delivery.
 */
export class AgentPresence {
  readonly brokerId = randomUUID();
  private readonly open = new Map<string, number>();
  private queue: Transition[] = [];
  private writing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(
    private readonly db: Db,
    private readonly onFault: (err: unknown) => void = (err) => log.warn({ err }, "recording agent presence failed"),
  ) {}

  async start(): Promise<void> {
    await store.registerBroker(this.db, this.brokerId);
    this.started = true;
    this.timer = setInterval(() => {
      store.touchBroker(this.db, this.brokerId).catch(this.onFault);
    }, store.BROKER_REFRESH_MS);
    this.timer.unref();
  }

  opened(agentId: string): void {
    const n = (this.open.get(agentId) ?? 0) + 1;
    this.open.set(agentId, n);
    if (n === 1) this.write({ agentId, connected: true });
  }

  closed(agentId: string): void {
    const n = (this.open.get(agentId) ?? 0) - 1;
    if (n > 0) return void this.open.set(agentId, n);
    this.open.delete(agentId);
    this.write({ agentId, connected: false });
  }

  /** Waits for every pending write (tests, stop). */
  async settled(): Promise<void> {
    while (this.writing) await this.writing;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.settled();
    if (this.started) await store.closeBroker(this.db, this.brokerId).catch(this.onFault);
    this.started = false;
  }

  private write(t: Transition): void {
    if (!this.started) return;
    this.queue.push(t);
    this.writing ??= this.drain();
  }

  /** One batch at a time, in order; each batch split where an agent comes back, so its order holds. */
  private async drain(): Promise<void> {
    await Promise.resolve(); // transitions of the same turn join the first batch
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      for (const run of runs(batch)) {
        const ids = (connected: boolean) => run.filter((t) => t.connected === connected).map((t) => t.agentId);
        const [up, down] = [ids(true), ids(false)];
        await Promise.all([
          up.length > 0 ? store.markManyConnected(this.db, up, this.brokerId) : undefined,
          down.length > 0 ? store.markManyDisconnected(this.db, down, this.brokerId) : undefined,
        ]).catch(this.onFault);
      }
    }
    this.writing = null;
  }
}

interface Transition {
  agentId: string;
  connected: boolean;
}

/** Consecutive stretches of `batch` in which each agent appears at most once. */
function runs(batch: Transition[]): Transition[][] {
  const out: Transition[][] = [];
  let seen = new Set<string>();
  let run: Transition[] = [];
  for (const t of batch) {
    if (seen.has(t.agentId)) {
      out.push(run);
      [run, seen] = [[], new Set()];
    }
    seen.add(t.agentId);
    run.push(t);
  }
  if (run.length > 0) out.push(run);
  return out;
}
