import { BrokkrError } from "../errors.js";

/** A waiting long-poll: woken by objects of its stacks or by association changes. */
interface Waiter {
  agentId: string;
  stackIds: ReadonlySet<string>;
  wake: () => void;
}

/** Long-poll waiters (REST agents): woken per dispatched batch, not per object. */
export class ChangeWaiters {
  private readonly waiters = new Set<Waiter>();
  /** Waiting long-polls per agent: each is woken and re-queries on every change that concerns it. */
  private readonly perAgent = new Map<string, number>();
  /** Stacks that got objects in the batch being dispatched. */
  private batchStacks = new Set<string>();

  /** One change wakes every waiter it concerns, and each re-queries: the waiters of one agent are capped. */
  constructor(private readonly maxPerAgent = Number.POSITIVE_INFINITY) {}

  /**
   * Resolves when an object of one of `stackIds` is dispatched, the agent's associations may have
   * changed, or after `ms`; refuses with TOO_MANY_REQUESTS past the agent's cap of waiting polls.
   */
  wait(agentId: string, stackIds: ReadonlySet<string>, ms: number, signal?: AbortSignal): Promise<void> {
    const open = this.perAgent.get(agentId) ?? 0;
    if (open >= this.maxPerAgent) {
      return Promise.reject(
        new BrokkrError("TOO_MANY_REQUESTS", `at most ${this.maxPerAgent} long-polls of one agent may wait at once`),
      );
    }
    this.perAgent.set(agentId, open + 1);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        agentId,
        stackIds,
        wake: () => {
          clearTimeout(timer);
          if (!this.waiters.delete(waiter)) return;
          const left = (this.perAgent.get(agentId) ?? 1) - 1;
          if (left > 0) this.perAgent.set(agentId, left);
          else this.perAgent.delete(agentId);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, ms);
      this.waiters.add(waiter);
      // A client that went away gives its slot back at once, not when its wait would have ended.
      signal?.addEventListener("abort", waiter.wake, { once: true });
    });
  }

  objectDispatched(stackId: string): void {
    if (this.waiters.size > 0) this.batchStacks.add(stackId);
  }

  batchDone(): void {
    const stacks = this.batchStacks;
    if (stacks.size === 0) return;
    this.batchStacks = new Set();
    for (const w of [...this.waiters]) {
      for (const stackId of stacks) {
        if (w.stackIds.has(stackId)) {
          w.wake();
          break;
        }
      }
    }
  }

  /** A stack change (labels, deletion) may concern any agent; an agent change only that agent. */
  associationChanged(kind: string, id: string): void {
    for (const w of [...this.waiters]) if (kind === "stack" || w.agentId === id) w.wake();
  }

  wakeAll(): void {
    for (const w of [...this.waiters]) w.wake();
  }
}
