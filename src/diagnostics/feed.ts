import { EventEmitter } from "node:events";
import type { Db } from "../db/client.js";
import type { SlowConsumerGuard } from "../delivery/bounded-queue.js";
import { BoundedQueue } from "../delivery/bounded-queue.js";
import type { NotificationListener } from "../delivery/listener.js";
import type { RowChangeFeed } from "../delivery/row-changes.js";
import { moduleLogger } from "../logger.js";
import { type DiagnosticRequestChangeModel, diagnosticChangeFeed } from "./changes.js";
import { MAX_PENDING } from "./service.js";
import { type DiagnosticRequestRow, findRequest, pendingOfAgent } from "./store.js";

const log = moduleLogger("diagnostics");
export const DIAGNOSTICS_CHANNEL = "brokkr_diagnostics";

interface Watcher {
  agentId: string;
  /** Ids already pushed: replay, a notification and a resync may name the same request. */
  sent: Set<string>;
  queue: BoundedQueue<DiagnosticRequestRow>;
}

/**
 * Pushes new diagnostic requests to the subscribed agent (agentDiagnosticRequests) on whichever
 * broker holds its socket. The trigger notifies "agentId:requestId" on brokkr_diagnostics; each
 * request is loaded once however many watchers its agent has. A subscription first registers,
 * then replays the agent's pending requests (so one created in between is not lost, and not
 * sent twice); after a listener reconnect every watcher re-reads its pending requests, because
 * notifications sent while the listener was away are gone. Emits `opened(agentId)` (tests wait on it).
 */
export class DiagnosticFeed extends EventEmitter<{ opened: [agentId: string] }> {
  private readonly watchers = new Set<Watcher>();
  /** Every request's changes, for operators (diagnosticRequestChanges). */
  readonly changes: RowChangeFeed<DiagnosticRequestChangeModel>;

  constructor(
    private readonly db: Db,
    listener: NotificationListener,
  ) {
    super();
    this.changes = diagnosticChangeFeed(db, listener);
    listener.on("notification", (channel, payload) => {
      if (channel === DIAGNOSTICS_CHANNEL) void this.notified(payload);
    });
    listener.on("resync", () => {
      for (const w of this.watchers) void this.replay(w);
    });
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** The agent's stream: its pending requests, then each new one as its transaction commits. */
  async subscribe(agentId: string, guard: SlowConsumerGuard): Promise<AsyncIterableIterator<DiagnosticRequestRow>> {
    const watcher: Watcher = {
      agentId,
      sent: new Set(),
      queue: new BoundedQueue<DiagnosticRequestRow>({
        limit: MAX_PENDING * 2,
        ...guard,
        onClose: () => this.watchers.delete(watcher),
      }),
    };
    this.watchers.add(watcher);
    try {
      await this.replay(watcher, true);
    } catch (err) {
      watcher.queue.close();
      throw err;
    }
    this.emit("opened", agentId);
    return watcher.queue;
  }

  private async replay(watcher: Watcher, rethrow = false): Promise<void> {
    try {
      for (const row of await pendingOfAgent(this.db, watcher.agentId, MAX_PENDING)) this.push(watcher, row);
    } catch (err) {
      if (rethrow) throw err;
      log.error({ err }, "replaying pending diagnostic requests failed");
    }
  }

  private push(watcher: Watcher, row: DiagnosticRequestRow): void {
    if (watcher.sent.has(row.id)) return;
    watcher.sent.add(row.id);
    // Bounded memory: an id pushed long ago is no longer pending, so no replay names it again.
    if (watcher.sent.size > MAX_PENDING * 10) watcher.sent.delete(watcher.sent.values().next().value as string);
    watcher.queue.push(row);
  }

  private async notified(payload: string): Promise<void> {
    const [agentId, requestId] = payload.split(":");
    const watchers = [...this.watchers].filter((w) => w.agentId === agentId);
    if (watchers.length === 0 || !requestId) return;
    try {
      const row = await findRequest(this.db, requestId);
      if (row?.status !== "pending") return;
      for (const w of watchers) this.push(w, row);
    } catch (err) {
      log.error({ err }, "loading a diagnostic request failed");
    }
  }

  stop(): void {
    this.changes.stop();
    for (const w of this.watchers) w.queue.close();
  }
}
