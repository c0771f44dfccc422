import type { Db } from "../db/client.js";
import { Prisma } from "../generated/prisma/client.js";
import type { DeploymentObjectRow } from "../deployment-objects/store.js";
import { moduleLogger } from "../logger.js";
import * as store from "./store.js";

const log = moduleLogger("commit-feed");
const RANGE_CHUNK = 2000n;
const MIN_HORIZON_INTERVAL_MS = 5;

/**
 * Waking delivery after an insert has one owner, this module. An insert path includes
 * DEFER_NOTIFY in its statement and, once committed, calls `objectsCommitted()` on the hook it
 * was given (the DeliveryHub): this broker reads at once and wakes the others with one NOTIFY
 * per horizon read, sent in that read's own statement. Writers that do neither (plain SQL) are
 * woken by the trigger's NOTIFY (migration 0003).
 */
export interface CommitHook {
  objectsCommitted(): void;
}

/** A FROM item that sets brokkr.notify_deferred for the statement's transaction (migration 0003). */
export const DEFER_NOTIFY = Prisma.sql`(SELECT set_config('brokkr.notify_deferred', 'on', true))`;

/**
 * Reads newly committed deployment objects once per wake-up, by cursor, only up to the delivery
 * horizon (store.readHorizon): that is what makes the cursor safe when a transaction holding a
 * lower sequence id commits after one holding a higher id. Wake-ups coalesce.
 */
export class CommitFeed {
  horizon = 0n;
  private pumping = false;
  private pumpAgain = false;
  private held = false;
  private lastHorizonRead = 0;
  /** Objects this broker committed that the other brokers have not been woken for yet. */
  private notifyDue = false;
  private safetyTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Db,
    private readonly dispatch: (object: DeploymentObjectRow) => void,
    private readonly afterBatch: () => void,
  ) {}

  async start(): Promise<void> {
    this.horizon = await store.readHorizon(this.db);
    // A wake-up can be lost (a broker dying between commit and its batched NOTIFY): read by
    // cursor once a second regardless. It costs one horizon read when nothing is new.
    this.safetyTimer = setInterval(() => void this.pump(), 1000);
    this.safetyTimer.unref();
  }

  /**
   * This broker committed objects with deferred notification: read here at once, and wake the
   * other brokers with the next horizon read (one NOTIFY per read, at most one every
   * MIN_HORIZON_INTERVAL_MS, instead of one per insert). Riding on the read saved its own
   * statement: under 16 writers the separate NOTIFY was a fifth of the broker's statements.
   */
  objectsCommitted(): void {
    this.notifyDue = true;
    void this.pump();
  }

  async pump(): Promise<void> {
    if (this.held) {
      this.pumpAgain = true;
      return;
    }
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        await this.readToHorizon();
        this.afterBatch();
      } while (this.pumpAgain);
    } catch (err) {
      // 55P03: an inserting transaction is still open (horizon lock timed out); try again soon.
      const busy = /55P03|lock timeout/i.test(err instanceof Error ? err.message : String(err));
      if (!busy) log.error({ err }, "reading new deployment objects failed; retrying");
      setTimeout(() => void this.pump(), busy ? 20 : 1000).unref();
    } finally {
      this.pumping = false;
    }
  }

  private async readToHorizon(): Promise<void> {
    // Each horizon read briefly queues new inserters behind it; under a stream of commits,
    // spacing reads a few ms apart batches many objects per read instead of convoying.
    const wait = this.lastHorizonRead + MIN_HORIZON_INTERVAL_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    this.lastHorizonRead = Date.now();
    const notify = this.notifyDue;
    this.notifyDue = false;
    // A failed read rolled its NOTIFY back: the retry sends it.
    const target = await store.readHorizon(this.db, { notify }).catch((err: unknown) => {
      if (notify) this.notifyDue = true;
      throw err;
    });
    while (this.horizon < target) {
      const to = this.horizon + RANGE_CHUNK < target ? this.horizon + RANGE_CHUNK : target;
      const objects = await store.objectsInRange(this.db, this.horizon, to);
      for (const object of objects) this.dispatch(object);
      this.horizon = to;
    }
  }

  /**
   * Test hook and operational aid: stop reading new objects until the returned function is
   * called, as a broker whose LISTEN connection or database reads lag behind the others does.
   */
  hold(): () => void {
    this.held = true;
    return () => {
      this.held = false;
      void this.pump();
    };
  }

  stop(): void {
    if (this.safetyTimer) clearInterval(this.safetyTimer);
  }
}
