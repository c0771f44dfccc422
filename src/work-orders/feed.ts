import { agentReceives } from "../associations/service.js";
import { findAgent } from "../agents/store.js";
import type { Db } from "../db/client.js";
import { BoundedQueue, type SlowConsumerGuard } from "../delivery/bounded-queue.js";
import type { NotificationListener } from "../delivery/listener.js";
import type { RowChangeFeed } from "../delivery/row-changes.js";
import { moduleLogger } from "../logger.js";
import { type WorkOrderChangeModel, workOrderChangeFeed } from "./changes.js";
import { PENDING_LIMIT } from "./service.js";
import * as store from "./store.js";

const log = moduleLogger("work-orders");

export type AgentWorkOrderEventReason = "REPLAY" | "CREATED" | "RETRY_DUE" | "REQUEUED";
export interface AgentWorkOrderEventModel {
  reason: AgentWorkOrderEventReason;
  workOrder: store.WorkOrderModel;
}

/** The channel migration 0011's trigger notifies: `C<id>,R<id>,Q<id>…`, or '' for "re-read all". */
export const WORK_ORDER_CHANNEL = "brokkr_work_orders";
const REASONS: Record<string, AgentWorkOrderEventReason> = { C: "CREATED", R: "RETRY_DUE", Q: "REQUEUED" };
const QUEUE_LIMIT = 1_000;

/**
 * Push of claimable work orders to agentWorkOrders subscriptions on this broker. A notification
 * costs three statements whatever the number of subscribed agents (which of them may claim
 * which orders, and the orders); every subscriber of an agent gets the same event object.
 * Claiming decides who runs an order, so an event seen twice (a replay racing a live event,
 * two subscriptions of one agent) is harmless: the second claim is refused.
 */
export class WorkOrderFeed {
  private readonly subscribers = new Map<string, Set<BoundedQueue<AgentWorkOrderEventModel>>>();
  /** Notifications are handled one after another, so pushes keep their commit order. */
  private chain: Promise<void> = Promise.resolve();
  /** Every change of the queue, for operators (workOrderChanges). */
  readonly changes: RowChangeFeed<WorkOrderChangeModel>;

  constructor(
    private readonly db: Db,
    listener: NotificationListener,
  ) {
    this.changes = workOrderChangeFeed(db, listener);
    listener.on("notification", (channel, payload) => {
      if (channel === WORK_ORDER_CHANNEL) this.guarded(() => this.notified(payload));
      // Labels, annotations and status of an agent changed: what it may claim may have too.
      else if (channel === "brokkr_associations" && payload.startsWith("agent:"))
        this.guarded(() => this.replay(payload.slice(6)));
    });
    // Notifications sent while the LISTEN connection was away are gone: re-read.
    listener.on("resync", () => this.guarded(() => this.replayAll()));
  }

  /** Open agentWorkOrders streams of `agentId` on this broker (tests wait on it). */
  subscriberCount(agentId: string): number {
    return this.subscribers.get(agentId)?.size ?? 0;
  }

  /** Registers first, then replays the pending orders, so nothing committed in between is lost. */
  async subscribe(agentId: string, guard: SlowConsumerGuard): Promise<AsyncIterableIterator<AgentWorkOrderEventModel>> {
    const queue: BoundedQueue<AgentWorkOrderEventModel> = new BoundedQueue({
      limit: QUEUE_LIMIT,
      ...guard,
      onClose: () => {
        const set = this.subscribers.get(agentId);
        set?.delete(queue);
        if (set?.size === 0) this.subscribers.delete(agentId);
      },
    });
    const set = this.subscribers.get(agentId) ?? new Set();
    set.add(queue);
    this.subscribers.set(agentId, set);
    try {
      for (const workOrder of await this.pendingOf(agentId)) queue.push({ reason: "REPLAY", workOrder });
    } catch (err) {
      queue.close();
      throw err;
    }
    return queue;
  }

  stop(): void {
    this.changes.stop();
    for (const set of [...this.subscribers.values()]) for (const queue of [...set]) queue.close();
  }

  private async pendingOf(agentId: string): Promise<store.WorkOrderModel[]> {
    const agent = await findAgent(this.db, agentId);
    return agent && agentReceives(agent) ? store.pendingForAgent(this.db, agentId, undefined, PENDING_LIMIT) : [];
  }

  private async notified(payload: string): Promise<void> {
    if (this.subscribers.size === 0) return;
    if (payload === "") return this.replayAll();
    const reasons = new Map<string, AgentWorkOrderEventReason>();
    for (const entry of payload.split(",")) {
      const reason = REASONS[entry.charAt(0)];
      if (reason && entry.length === 37) reasons.set(entry.slice(1), reason);
    }
    if (reasons.size === 0) return;
    const pairs = await store.claimablePairs(this.db, [...reasons.keys()], [...this.subscribers.keys()]);
    if (pairs.length === 0) return;
    const orders = new Map(
      (await store.findWorkOrders(this.db, [...new Set(pairs.map((p) => p.work_order_id))])).map((o) => [o.id, o]),
    );
    for (const { work_order_id, agent_id } of pairs) {
      const workOrder = orders.get(work_order_id);
      const reason = reasons.get(work_order_id);
      if (!workOrder || !reason) continue;
      const event = { reason, workOrder };
      for (const queue of this.subscribers.get(agent_id) ?? []) queue.push(event);
    }
  }

  private async replay(agentId: string): Promise<void> {
    const queues = this.subscribers.get(agentId);
    if (!queues) return;
    const pending = await this.pendingOf(agentId);
    for (const workOrder of pending) for (const queue of queues) queue.push({ reason: "REPLAY", workOrder });
  }

  /** One pending list per subscribed agent: only after a reconnect or a notification too big to list. */
  private async replayAll(): Promise<void> {
    for (const agentId of [...this.subscribers.keys()]) await this.replay(agentId);
  }

  private guarded(work: () => Promise<void>): void {
    this.chain = this.chain
      .then(work)
      .catch((err: unknown) => log.error({ err }, "pushing work orders failed; agents still find them by polling"));
  }
}
