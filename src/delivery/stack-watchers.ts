import type { Db } from "../db/client.js";
import type { DeploymentObjectRow } from "../deployment-objects/store.js";
import { BoundedQueue, type SlowConsumerGuard } from "./bounded-queue.js";
import { stackObjectsInRange } from "./store.js";

type ObjectListener = (object: DeploymentObjectRow) => void;

/** stackDeploymentObjects (UIs): every object of one stack after a cursor, replay then live. */
export class StackWatchers {
  private readonly listeners = new Set<ObjectListener>();

  constructor(
    private readonly db: Db,
    private readonly horizon: () => bigint,
    private readonly queueLimit: number,
  ) {}

  /** Called with every new object in commit order. */
  dispatch(object: DeploymentObjectRow): void {
    for (const listener of this.listeners) listener(object);
  }

  /**
   * Listens before reading the replay, so nothing committed meanwhile is missed; what arrives
   * during the replay waits and follows it. Never sends at or below the cursor, nor twice.
   */
  async subscribe(stackId: string, after: bigint, guard: SlowConsumerGuard): Promise<AsyncIterableIterator<DeploymentObjectRow>> {
    let last = after;
    let replaying = true;
    const pending: DeploymentObjectRow[] = [];
    const listener: ObjectListener = (o) => {
      if (o.stackId !== stackId) return;
      if (replaying) pending.push(o);
      else send(o);
    };
    const queue = new BoundedQueue<DeploymentObjectRow>({
      limit: this.queueLimit,
      ...guard,
      onClose: () => this.listeners.delete(listener),
    });
    const send = (o: DeploymentObjectRow) => {
      if (o.sequenceId <= last) return;
      last = o.sequenceId;
      queue.push(o);
    };
    this.listeners.add(listener);
    try {
      for (const o of await stackObjectsInRange(this.db, stackId, after, this.horizon())) send(o);
    } catch (err) {
      queue.close();
      throw err;
    }
    replaying = false;
    for (const o of pending) send(o);
    return queue;
  }
}
