import type { DeploymentObjectRow } from "../deployment-objects/store.js";
import { BoundedQueue, type QueueOptions } from "./bounded-queue.js";
import type { AgentDeploymentEventModel } from "./types.js";

/**
 * Where a subscription's events go when no async iterator is wanted (graphql/direct-deployments.ts
 * writes each to its socket at once). It calls `onClose` once, when it closes (also by itself,
 * for a slow consumer).
 */
export interface EventSink {
  push(event: AgentDeploymentEventModel): void;
  close(): void;
}
export type SinkFactory = (onClose: () => void) => EventSink;

/**
 * One agentDeployments subscription. Guarantees on this stream: per stack, objects go out in
 * increasing sequence order and never twice (`lastSent`); superseded ones are skipped; nothing
 * at or below the cursor goes out live. While the replay runs, live events wait in `pending`
 * so they follow it. Its associations are set only through `install`.
 */
export class AgentSubscription {
  private readonly lastSent = new Map<string, bigint>();
  private stackSet = new Set<string>();
  private receiving = false;
  private initialised = false;
  private associationsDirty = false;
  private replaying = true;
  private pending: AgentDeploymentEventModel[] | null = [];
  private readonly queue: EventSink;
  private readonly onSend?: (o: DeploymentObjectRow) => void;

  constructor(
    readonly agentId: string,
    readonly cursor: bigint,
    opts: QueueOptions & { onSend?: (o: DeploymentObjectRow) => void; sink?: SinkFactory },
  ) {
    this.queue = opts.sink ? opts.sink(opts.onClose) : new BoundedQueue(opts);
    this.onSend = opts.onSend;
  }

  /** What graphql-ws iterates (a subscription opened without a sink). */
  get stream(): AsyncIterableIterator<AgentDeploymentEventModel> {
    if (!(this.queue instanceof BoundedQueue)) throw new Error("this subscription writes to a sink, not a stream");
    return this.queue;
  }

  get stacks(): ReadonlySet<string> {
    return this.stackSet;
  }

  /** The agent receives (ACTIVE, not deleted) as of the last install. */
  get active(): boolean {
    return this.receiving;
  }

  get isInitialised(): boolean {
    return this.initialised;
  }

  install(stacks: Set<string>, active: boolean): void {
    this.stackSet = stacks;
    this.receiving = active;
  }

  /** Associations changed while the initial read ran: it must read again. */
  markAssociationsDirty(): void {
    if (!this.initialised) this.associationsDirty = true;
  }

  /** Starts an initial read; true when a change arrived during the previous one. */
  takeAssociationsDirty(): boolean {
    const dirty = this.associationsDirty;
    this.associationsDirty = false;
    return dirty;
  }

  markInitialised(): void {
    this.initialised = true;
  }

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
    if (!this.receiving || !this.stackSet.has(object.stackId)) return;
    if (!this.markSent(object)) return;
    this.emit({ type: "DEPLOY", stackId: object.stackId, deploymentObject: object });
    this.onSend?.(object);
  }

  untarget(stackId: string): void {
    this.lastSent.delete(stackId);
    this.emit({ type: "UNTARGETED", stackId, deploymentObject: null });
  }

  /** Replay items bypass `pending`: they come first. */
  replay(object: DeploymentObjectRow): void {
    if (object.sequenceId <= this.cursor) return;
    if (!this.markSent(object)) return;
    this.queue.push({ type: "DEPLOY", stackId: object.stackId, deploymentObject: object });
    this.onSend?.(object);
  }

  /** Replay done: flush what arrived meanwhile, then stream directly. */
  finishReplay(): void {
    this.replaying = false;
    const pending = this.pending ?? [];
    this.pending = null;
    for (const event of pending) this.queue.push(event);
  }

  close(): void {
    this.queue.close();
  }

  private markSent(object: DeploymentObjectRow): boolean {
    const last = this.lastSent.get(object.stackId);
    if (last !== undefined && object.sequenceId <= last) return false;
    this.lastSent.set(object.stackId, object.sequenceId);
    return true;
  }

  private emit(event: AgentDeploymentEventModel): void {
    if (this.replaying) this.pending?.push(event);
    else this.queue.push(event);
  }
}
