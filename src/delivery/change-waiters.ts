/** A waiting long-poll: woken by objects of its stacks or by association changes. */
interface Waiter {
  agentId: string;
  stackIds: ReadonlySet<string>;
  wake: () => void;
}

/** Long-poll waiters (REST agents): woken per dispatched batch, not per object. */
export class ChangeWaiters {
  private readonly waiters = new Set<Waiter>();
  /** Stacks that got objects in the batch being dispatched. */
  private batchStacks = new Set<string>();

  /** Resolves when an object of one of `stackIds` is dispatched, the agent's associations may have changed, or after `ms`. */
  wait(agentId: string, stackIds: ReadonlySet<string>, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        agentId,
        stackIds,
        wake: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, ms);
      this.waiters.add(waiter);
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
