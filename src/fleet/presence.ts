import { randomUUID } from "node:crypto";
import type { Db } from "../db/client.js";
import { moduleLogger } from "../logger.js";
import * as store from "./store.js";

const log = moduleLogger("presence");

/**
 * Records, for the fleet query, which agents hold an agentDeployments websocket on this broker
 * (migration 0009). Only the 0 -> 1 and 1 -> 0 transitions per agent write, one statement each,
 * in order per agent; plus one statement per BROKER_REFRESH_MS for this broker's liveness.
 * A write that fails is logged: presence is advisory and never holds up delivery.
 */
export class AgentPresence {
  readonly brokerId = randomUUID();
  private readonly open = new Map<string, number>();
  private readonly chains = new Map<string, Promise<void>>();
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
    if (n === 1) this.write(agentId, (db) => store.markConnected(db, agentId, this.brokerId));
  }

  closed(agentId: string): void {
    const n = (this.open.get(agentId) ?? 0) - 1;
    if (n > 0) return void this.open.set(agentId, n);
    this.open.delete(agentId);
    this.write(agentId, (db) => store.markDisconnected(db, agentId, this.brokerId));
  }

  /** Waits for every pending write (tests, stop). */
  async settled(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.settled();
    if (this.started) await store.closeBroker(this.db, this.brokerId).catch(this.onFault);
    this.started = false;
  }

  private write(agentId: string, fn: (db: Db) => Promise<void>): void {
    if (!this.started) return;
    const previous = this.chains.get(agentId) ?? Promise.resolve();
    const next = previous.then(() => fn(this.db)).catch(this.onFault);
    this.chains.set(agentId, next);
    void next.then(() => {
      if (this.chains.get(agentId) === next) this.chains.delete(agentId);
    });
  }
}
