import type { DeploymentObjectRow } from "../deployment-objects/store.js";
import { BoundedQueue, type QueueOptions } from "./bounded-queue.js";
import type { AgentDeploymentEventModel } from "./types.js";

/**
 * One agentDeployments subscription. Guarantees on this stream: per stack, objects go out in
 * increasing sequence order and never twice (`lastSent`); superseded ones are skipped.
 * While the replay runs, live events wait in `pending` so they follow it.
 */
export class AgentSubscription {
  readonly lastSent = new Map<string, bigint>();
  stacks = new Set<string>();
  active = false;
  initialised = false;
  associationsDirty = false;
  private replaying = true;
  private pending: AgentDeploymentEventModel[] = [];
  readonly queue: BoundedQueue<AgentDeploymentEventModel>;

  constructor(
    readonly agentId: string,
    readonly cursor: bigint,
    opts: QueueOptions & { onSend?: (o: DeploymentObjectRow) => void },
  ) {
    this.queue = new BoundedQueue(opts);
    this.onSend = opts.onSend;
  }

  private readonly onSend?: (o: DeploymentObjectRow) => void;

  /**
   * A new object, live. The cursor is a promise: nothing at or below it goes out, also when
   * this broker's commit feed is behind the one the agent got its cursor from (after a failover).
   */
  deploy(object: DeploymentObjectRow): void {
    if (object.sequenceId <= this.cursor) return;
    this.target(object);
  }

  /** The latest object of a stack that just became targeted: sent even if older than the cursor. */
  target(object: DeploymentObjectRow): void {
    if (!this.active || !this.stacks.has(object.stackId)) return;
    const last = this.lastSent.get(object.stackId);
    if (last !== undefined && object.sequenceId <= last) return;
    this.lastSent.set(object.stackId, object.sequenceId);
    this.emit({ type: "DEPLOY", stackId: object.stackId, deploymentObject: object });
    this.onSend?.(object);
  }

  untarget(stackId: string): void {
    this.lastSent.delete(stackId);
    this.emit({ type: "UNTARGETED", stackId, deploymentObject: null });
  }

  /** Replay done: flush what arrived meanwhile, then stream directly. */
  finishReplay(): void {
    this.replaying = false;
    const pending = this.pending;
    this.pending = [];
    for (const event of pending) this.queue.push(event);
  }

  private emit(event: AgentDeploymentEventModel): void {
    if (this.replaying) this.pending.push(event);
    else this.queue.push(event);
  }

  /** Replay items bypass `pending`: they come first. */
  replay(object: DeploymentObjectRow): void {
    if (object.sequenceId <= this.cursor) return;
    const last = this.lastSent.get(object.stackId);
    if (last !== undefined && object.sequenceId <= last) return;
    this.lastSent.set(object.stackId, object.sequenceId);
    this.queue.push({ type: "DEPLOY", stackId: object.stackId, deploymentObject: object });
    this.onSend?.(object);
  }
}
