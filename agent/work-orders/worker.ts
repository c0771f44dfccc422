import { createClient } from "graphql-ws";
import type { Logger } from "pino";
import WebSocket from "ws";
import { jitteredDelay, sleep } from "../broker/backoff.ts";
import { type BrokerHttp, BrokerHttpError, brokerRequest, graphqlRequest } from "../broker/http.ts";
import {
  type AgentWorkOrderFragment,
  AgentWorkOrdersDocument,
  type AgentWorkOrdersSubscription,
  ClaimWorkOrderDocument,
  CompleteWorkOrderDocument,
} from "../generated/operations.ts";
import type { WorkOrderExecutor, WorkOrderResult } from "./executor.ts";

export interface WorkOrderWorkerOptions extends BrokerHttp {
  agentId: string;
  executor: Pick<WorkOrderExecutor, "run">;
  logger: Logger;
  /** REST polling of pending work orders while the subscription is down (BROKKR__AGENT__POLLING_INTERVAL). */
  pollingIntervalMs: number;
  /** Hold the agentWorkOrders subscription (false with BROKKR__AGENT__TRANSPORT=rest: poll only). */
  push: boolean;
  retryBaseMs?: number;
}

/** Brokkr's pending-list item, as far as this agent reads it. */
interface PendingJson {
  id: string;
}

/**
 * Takes work orders: pushed by the agentWorkOrders subscription (which replays the pending ones on
 * every connect) or, while that is down, polled over REST (`GET …/work-orders/pending`). Orders
 * are run one at a time. Each is claimed first; only a won claim runs, and a claim (order id and
 * claim time) runs at most once in this process, however often the order is announced.
 */
export class WorkOrderWorker {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  /** Claims already run: `${id}@${claimedAt}`. A requeued order is claimed anew, at a new time. */
  private readonly ran = new Set<string>();
  private wake: (() => void) | null = null;
  private subscribed = false;
  /** Work orders this process has completed (for /health and tests). */
  completed = 0;

  constructor(private readonly options: WorkOrderWorkerOptions) {}

  /** Runs until `signal` aborts: the subscription, the fallback poll and the queue. */
  async run(signal: AbortSignal): Promise<void> {
    const loops = [this.pollLoop(signal), this.workLoop(signal)];
    if (this.options.push) loops.push(this.subscribeLoop(signal));
    await Promise.all(loops);
  }

  /** Asks for an order to be considered; a repeat while it waits is dropped. */
  offer(id: string): void {
    if (this.queued.has(id)) return;
    this.queued.add(id);
    this.queue.push(id);
    this.wake?.();
  }

  private async workLoop(signal: AbortSignal): Promise<void> {
    const stop = () => this.wake?.();
    signal.addEventListener("abort", stop, { once: true });
    while (!signal.aborted) {
      const id = this.queue.shift();
      if (id === undefined) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      this.queued.delete(id);
      await this.take(id, signal).catch((err: unknown) =>
        this.options.logger.warn({ err, workOrderId: id }, "work order not taken"),
      );
    }
  }

  private async take(id: string, signal: AbortSignal): Promise<void> {
    const order = await this.claim(id);
    if (!order) return;
    const claim = `${order.id}@${order.claimedAt}`;
    if (this.ran.has(claim)) return;
    this.ran.add(claim);
    const log = this.options.logger.child({ workOrderId: id, workType: order.workType });
    log.info("running work order");
    const result = await this.options.executor.run(order);
    await this.report(id, result, signal);
    this.completed++;
    log.info({ success: result.success, retryable: result.retryable, message: result.message }, "work order reported");
  }

  /** The claimed order, or null when another agent (or an earlier announcement) won it. */
  private async claim(id: string): Promise<AgentWorkOrderFragment | null> {
    try {
      const { claimWorkOrder } = await graphqlRequest(this.options, ClaimWorkOrderDocument, {
        input: { id, agentId: this.options.agentId },
      });
      return claimWorkOrder.workOrder;
    } catch (err) {
      if (err instanceof BrokerHttpError && err.code === "NOT_FOUND") return null;
      throw err;
    }
  }

  /** Retries a report that did not reach the broker; one the broker refuses (claim lost) is dropped. */
  private async report(id: string, result: WorkOrderResult, signal: AbortSignal): Promise<void> {
    const input = { id, success: result.success, message: result.message.slice(0, 16_000), retryable: result.retryable };
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        await graphqlRequest(this.options, CompleteWorkOrderDocument, { input });
        return;
      } catch (err) {
        if (err instanceof BrokerHttpError && (err.code === "FORBIDDEN" || err.code === "NOT_FOUND")) {
          this.options.logger.warn({ workOrderId: id, err: err.message }, "the broker refused the report: the claim was lost");
          return;
        }
        if (attempt >= 5) throw err;
        await sleep(jitteredDelay(attempt, this.options.retryBaseMs ?? 500, 30_000), signal);
      }
    }
  }

  private async pollLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!this.subscribed)
        await this.poll().catch((err: unknown) => this.options.logger.warn({ err }, "polling work orders failed"));
      await sleep(this.options.pollingIntervalMs, signal);
    }
  }

  private async poll(): Promise<void> {
    const path = `/api/v1/agents/${encodeURIComponent(this.options.agentId)}/work-orders/pending`;
    for (const order of (await brokerRequest<PendingJson[]>(this.options, path)) ?? []) this.offer(order.id);
  }

  private async subscribeLoop(signal: AbortSignal): Promise<void> {
    for (let failures = 0; !signal.aborted; ) {
      const opened = await this.session(signal);
      this.subscribed = false;
      failures = opened ? 0 : failures + 1;
      await sleep(jitteredDelay(failures, this.options.retryBaseMs ?? 500, 30_000), signal);
    }
  }

  /** One subscription; resolves when it ends, with whether it ever delivered or connected. */
  private session(signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      let opened = false;
      const client = createClient({
        url: `${this.options.baseUrl.replace(/^http/, "ws")}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${this.options.pak}` },
        retryAttempts: 0,
        keepAlive: 10_000,
        on: {
          connected: () => {
            opened = true;
            this.subscribed = true;
          },
        },
      });
      const finish = () => {
        signal.removeEventListener("abort", finish);
        void client.dispose();
        resolve(opened);
      };
      signal.addEventListener("abort", finish, { once: true });
      client.subscribe<AgentWorkOrdersSubscription>(
        { query: AgentWorkOrdersDocument.toString() },
        {
          next: (r) => (r.data ? this.offer(r.data.agentWorkOrders.workOrder.id) : finish()),
          error: finish,
          complete: finish,
        },
      );
    });
  }
}
