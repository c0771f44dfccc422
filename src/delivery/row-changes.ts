import { BoundedQueue, type SlowConsumerGuard } from "./bounded-queue.js";
import type { Channel, NotificationListener } from "./listener.js";
import { moduleLogger } from "../logger.js";

const log = moduleLogger("row-changes");

/** Changes within this window are read together; a read takes at most this many ids. */
const COALESCE_MS = 100;
const MAX_BATCH = 500;
/** A subscriber this far behind is cut off (its transport's cap applies as well). */
const QUEUE_LIMIT = 1_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface RowChangeSource<C> {
  /** The channel migration 0023's trigger notifies: changed ids, comma-separated, or '' for "too many". */
  channel: Channel;
  /** The current state of changed rows, one change per id (a missing row is a removal). */
  read(ids: string[]): Promise<C[]>;
  /** Sent when changes could not be listed (too many at once, or the LISTEN connection was away). */
  resync: C;
}

/**
 * Live changes of one table for operators' subscriptions on this broker (workOrderChanges,
 * diagnosticRequestChanges). Ids notified by any broker's writes are coalesced for COALESCE_MS and
 * read once per batch, whatever the number of subscribers; with none, nothing is read.
 */
export class RowChangeFeed<C> {
  private readonly queues = new Set<BoundedQueue<C>>();
  private pending = new Set<string>();
  private resyncDue = false;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    listener: NotificationListener,
    private readonly source: RowChangeSource<C>,
    private readonly coalesceMs = COALESCE_MS,
  ) {
    listener.on("notification", (channel, payload) => {
      if (channel === source.channel) this.notified(payload);
    });
    // Notifications sent while the LISTEN connection was away are gone: subscribers re-read.
    listener.on("resync", () => this.notified(""));
  }

  get subscriberCount(): number {
    return this.queues.size;
  }

  /** Streams opened since start (tests wait on it: the count of open ones may not move). */
  opened = 0;

  subscribe(guard: SlowConsumerGuard): AsyncIterableIterator<C> {
    const queue: BoundedQueue<C> = new BoundedQueue<C>({
      limit: QUEUE_LIMIT,
      ...guard,
      onClose: () => this.queues.delete(queue),
    });
    this.queues.add(queue);
    this.opened++;
    return queue;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const queue of [...this.queues]) queue.close();
  }

  private notified(payload: string): void {
    if (this.queues.size === 0) return;
    if (payload === "") this.resyncDue = true;
    for (const id of payload.split(",")) if (UUID.test(id)) this.pending.add(id);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flushing.then(() => this.flush());
    }, this.coalesceMs);
  }

  private push(change: C): void {
    for (const queue of [...this.queues]) queue.push(change);
  }

  private async flush(): Promise<void> {
    if (this.resyncDue) {
      this.resyncDue = false;
      this.pending.clear();
      return this.push(this.source.resync);
    }
    while (this.pending.size > 0 && this.queues.size > 0) {
      const batch = [...this.pending].slice(0, MAX_BATCH);
      for (const id of batch) this.pending.delete(id);
      try {
        for (const change of await this.source.read(batch)) this.push(change);
      } catch (err) {
        log.warn({ err }, "reading changed rows failed; subscribers are told to re-read");
        this.push(this.source.resync);
      }
    }
    this.pending.clear();
  }
}
