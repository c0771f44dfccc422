import type { Db } from "../db/client.js";
import type { NotificationListener } from "../delivery/listener.js";
import { moduleLogger } from "../logger.js";
import { isUuid } from "../validation.js";
import { rowsOfBatch, TELEMETRY_CHANNEL, type TelemetryRow } from "./store.js";

const log = moduleLogger("telemetry");
type Listener = (row: TelemetryRow) => void;

/**
 * Live telemetry for one broker process: each notified batch (its id only) is loaded once, and
 * only for the stacks someone is tailing, then handed to every tail of those stacks. Batches
 * are loaded one after another, so tails see them in notification (commit) order.
 */
export class TelemetryFeed {
  private readonly byStack = new Map<string, Set<Listener>>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    listener: NotificationListener,
  ) {
    listener.on("notification", (channel, payload) => {
      if (channel === TELEMETRY_CHANNEL) this.notified(payload);
    });
  }

  /** Hands every row stored for `stackId` from now on to `fn`, until the returned function is called. */
  listen(stackId: string, fn: Listener): () => void {
    const set = this.byStack.get(stackId) ?? new Set();
    this.byStack.set(stackId, set);
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.byStack.get(stackId) === set) this.byStack.delete(stackId);
    };
  }

  get tailCount(): number {
    let n = 0;
    for (const set of this.byStack.values()) n += set.size;
    return n;
  }

  private notified(batchId: string): void {
    if (this.byStack.size === 0 || !isUuid(batchId)) return;
    this.chain = this.chain.then(() => this.load(batchId));
  }

  private async load(batchId: string): Promise<void> {
    const stackIds = [...this.byStack.keys()];
    if (stackIds.length === 0) return;
    try {
      for (const row of await rowsOfBatch(this.db, batchId, stackIds))
        for (const fn of this.byStack.get(row.stackId) ?? []) fn(row);
    } catch (err) {
      log.error({ err }, "loading a telemetry batch failed");
    }
  }
}
