import type { Db } from "../db/client.js";
import { BoundedQueue, type SlowConsumerGuard } from "../delivery/bounded-queue.js";
import type { NotificationListener } from "../delivery/listener.js";
import { moduleLogger } from "../logger.js";
import { findPromotion, type PromotionRow } from "./store.js";

const log = moduleLogger("promotions");
export const PROMOTION_CHANNEL = "brokkr_promotions";
const QUEUE_LIMIT = 100;

/**
 * promotionProgress on this broker: migration 0019's triggers notify the promotion's id on any
 * change to it, its approvals, job, tasks or evidence, whichever broker wrote it; each stream
 * re-reads its promotion and sends it. Notifications that arrive while a read is running fold
 * into one more read, so a burst costs at most two reads per stream.
 */
export class PromotionFeed {
  private readonly watchers = new Map<string, Set<() => void>>();

  constructor(
    private readonly db: Db,
    listener: NotificationListener,
  ) {
    listener.on("notification", (channel, payload) => {
      if (channel === PROMOTION_CHANNEL) for (const wake of this.watchers.get(payload) ?? []) wake();
    });
    // Notifications sent while the LISTEN connection was away are gone: every stream re-reads.
    listener.on("resync", () => {
      for (const set of this.watchers.values()) for (const wake of set) wake();
    });
  }

  /** Open promotionProgress streams of a promotion on this broker (tests wait on it). */
  watcherCount(promotionId: string): number {
    return this.watchers.get(promotionId)?.size ?? 0;
  }

  /** The promotion now, then after each change; registered before the first read, so nothing is missed. */
  subscribe(promotionId: string, guard: SlowConsumerGuard): AsyncIterableIterator<PromotionRow> {
    let reading = false;
    let dirty = false;
    const queue: BoundedQueue<PromotionRow> = new BoundedQueue({
      limit: QUEUE_LIMIT,
      ...guard,
      onClose: () => {
        const set = this.watchers.get(promotionId);
        set?.delete(wake);
        if (set?.size === 0) this.watchers.delete(promotionId);
      },
    });
    const read = async () => {
      reading = true;
      try {
        while (dirty) {
          dirty = false;
          const row = await findPromotion(this.db, promotionId);
          if (row) queue.push(row);
        }
      } catch (err) {
        log.warn({ err, promotionId }, "re-reading a promotion for promotionProgress failed");
        queue.close();
      } finally {
        reading = false;
      }
    };
    const wake = () => {
      dirty = true;
      if (!reading) void read();
    };
    const set = this.watchers.get(promotionId) ?? new Set();
    set.add(wake);
    this.watchers.set(promotionId, set);
    wake();
    return queue;
  }
}
