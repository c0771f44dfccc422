import type { DeploymentObjectRow } from "../deployment-objects/store.js";
import { contains, valuesOf, type SmallSet } from "../small-set.js";
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

/** AgentSubscription's states, as bits of one number. */
const RECEIVING = 1;
const INITIALISED = 2;
const DIRTY = 4;
const REPLAYING = 8;

/**
 * One agentDeployments subscription. Guarantees on this stream: per stack, objects go out in
 * increasing sequence order and never twice (`markSent`); superseded ones are skipped; nothing
 * at or below the cursor goes out live. While the replay runs, live events wait in `pending`
 * so they follow it. Its associations are set only through `install`.
 *
 * Thousands of these sit idle per broker, so each is kept small (issue 13): one stack and its
 * last sent sequence id in fields of their own (a Set and a Map only for an agent with more
 * stacks), the four states in one number, `pending` made only if something waits.
 */
export class AgentSubscription {
  private stackSlot: SmallSet<string> | undefined = undefined;
  /** The last sequence id sent of one stack, in fields; of any further stacks, in `sentMore`. */
  private sentStack: string | null = null;
  private sentSeq = 0n;
  private sentMore: Map<string, bigint> | null = null;
  private flags = REPLAYING;
  private pending: AgentDeploymentEventModel[] | null = null;
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

  /** A copy when it holds one stack: hot paths ask hasStack. */
  get stacks(): ReadonlySet<string> {
    const slot = this.stackSlot;
    return slot instanceof Set ? slot : new Set(valuesOf(slot));
  }

  hasStack(stackId: string): boolean {
    return contains(this.stackSlot, stackId);
  }

  stackIds(): readonly string[] {
    return valuesOf(this.stackSlot);
  }

  /** The agent receives (ACTIVE, not deleted) as of the last install. */
  get active(): boolean {
    return (this.flags & RECEIVING) !== 0;
  }

  get isInitialised(): boolean {
    return (this.flags & INITIALISED) !== 0;
  }

  /** Takes `stacks` over (the caller makes a Set per subscription). */
  install(stacks: Set<string>, active: boolean): void {
    this.stackSlot = stacks.size > 1 ? stacks : stacks.values().next().value;
    this.set(RECEIVING, active);
  }

  /** Associations changed while the initial read ran: it must read again. */
  markAssociationsDirty(): void {
    if (!this.isInitialised) this.set(DIRTY, true);
  }

  /** Starts an initial read; true when a change arrived during the previous one. */
  takeAssociationsDirty(): boolean {
    const dirty = (this.flags & DIRTY) !== 0;
    this.set(DIRTY, false);
    return dirty;
  }

  markInitialised(): void {
    this.set(INITIALISED, true);
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
    if (!this.active || !this.hasStack(object.stackId)) return;
    if (!this.markSent(object)) return;
    this.emit({ type: "DEPLOY", stackId: object.stackId, deploymentObject: object });
    this.onSend?.(object);
  }

  untarget(stackId: string): void {
    if (this.sentStack === stackId) this.sentStack = null;
    else this.sentMore?.delete(stackId);
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
    this.set(REPLAYING, false);
    const pending = this.pending ?? [];
    this.pending = null;
    for (const event of pending) this.queue.push(event);
  }

  close(): void {
    this.queue.close();
  }

  private markSent(object: DeploymentObjectRow): boolean {
    const { stackId, sequenceId } = object;
    const last = this.sentStack === stackId ? this.sentSeq : this.sentMore?.get(stackId);
    if (last !== undefined && sequenceId <= last) return false;
    if (this.sentStack === null || this.sentStack === stackId) {
      // A stack is kept in one place only: the fields or the map.
      this.sentMore?.delete(stackId);
      this.sentStack = stackId;
      this.sentSeq = sequenceId;
    } else (this.sentMore ??= new Map()).set(stackId, sequenceId);
    return true;
  }

  private emit(event: AgentDeploymentEventModel): void {
    if (this.flags & REPLAYING) (this.pending ??= []).push(event);
    else this.queue.push(event);
  }

  private set(flag: number, on: boolean): void {
    this.flags = on ? this.flags | flag : this.flags & ~flag;
  }
}
