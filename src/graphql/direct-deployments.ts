import {
  Kind,
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from "graphql";
import type { WebSocket } from "ws";
import type { Identity } from "../auth/identity.js";
import type { AgentSubscription, EventSink } from "../delivery/agent-subscription.js";
import type { Connection } from "../delivery/connections.js";
import type { DeliveryHub } from "../delivery/hub.js";
import { agentStreamOf, SLOW_CONSUMER_CLOSE } from "../delivery/resolvers.js";
import type { SharedResult, SharedResults } from "../delivery/shared-subscribe.js";
import type { AgentDeploymentEventModel } from "../delivery/types.js";
import type { GraphQLContext } from "./context.js";
import { responseTooLarge } from "./response-size.js";

/** graphql-ws's per-socket context, as far as this file touches it. */
export interface WsContext {
  acknowledged: boolean;
  subscriptions: Record<string, unknown>;
}

/** What a direct stream needs of its socket's connection. */
export interface DirectOwner {
  ctx: WsContext;
  socket: WebSocket;
  identity: Identity;
  connection: Connection;
  caps: { acquire(ctx: object, id: string, identity: Identity): boolean; release(ctx: object, id: string): void };
}

/** One shareable agentDeployments operation (text and variables other than the cursor), shared by its subscribers. */
interface SharedOperation {
  key: string;
  args: ExecutionArgs;
  field: OperationDefinitionNode["selectionSet"]["selections"][number];
  /** The object last sent and its frame tail (frameTail). */
  lastObject: AgentDeploymentEventModel["deploymentObject"];
  lastTail: Buffer | null;
}

const DONE: IteratorResult<never> = { value: undefined, done: true };
const MAX_OPERATIONS = 256;

/**
 * agentDeployments streams that skip graphql-ws's generic subscribe/execute path: no per-
 * subscription GraphQL context, execution, async iterator or promise chain. The hub pushes each
 * event into the stream (EventSink), which writes the `next` frame at once: the result is the
 * shared one (SharedResults, allowlisted fields only, executed once per event without any
 * identity), serialised once, with the subscription id spliced in. Authorization is the
 * resolver's (agentStreamOf, checkAgentStream), the per-event checks are AgentSubscription's
 * (targeting, ordering, no duplicates), and a socket whose send buffer is over its cap is cut off
 * as a slow consumer. Anything this path does not take (another document, a refusal, an error)
 * goes through graphql-ws as before, so clients see the same answers either way.
 */
export class DirectDeployments {
  private readonly operations = new Map<string, SharedOperation>();

  constructor(
    private readonly deps: {
      schema: GraphQLSchema;
      delivery: DeliveryHub;
      results: SharedResults;
      /** Identity-less: what the shared execution runs with. */
      sharedContext: GraphQLContext;
      maxResponseBytes: number;
      maxSubscriberBufferBytes: number;
      format: (errors: readonly GraphQLError[]) => GraphQLFormattedError[];
    },
  ) {}

  /** The operation when `document` is one agentDeployments field, every selection shareable. */
  operationOf(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>) {
    const operation = getOperationAST(document, operationName);
    const field = operation?.selectionSet.selections[0];
    if (operation?.operation !== "subscription" || operation.selectionSet.selections.length !== 1) return null;
    if (field?.kind !== Kind.FIELD || field.name.value !== "agentDeployments" || field.directives?.length) return null;
    const info = this.deps.results.info(this.deps.schema, document);
    if (!info.shareable) return null;
    const key = this.deps.results.operationKey(info.text, variables);
    let shared = this.operations.get(key);
    if (!shared) {
      if (this.operations.size >= MAX_OPERATIONS) this.operations.clear();
      const args = { schema: this.deps.schema, document, operationName, variableValues: variables };
      shared = { key, field, args: { ...args, contextValue: this.deps.sharedContext }, lastObject: null, lastTail: null };
      this.operations.set(key, shared);
    }
    return { operation, shared };
  }

  /**
   * Opens the stream; false (having given back what it took) when the generic path must answer:
   * a key no longer valid, a cap, bad variables, a refusal or a fault.
   */
  async open(
    owner: DirectOwner,
    id: string,
    found: NonNullable<ReturnType<DirectDeployments["operationOf"]>>,
    variables: Record<string, unknown>,
  ): Promise<boolean> {
    const stream = new DirectStream(this, owner, id, found.shared);
    try {
      if (!(await owner.connection.recheck())) return false;
      if (!owner.caps.acquire(owner.ctx, id, owner.identity)) return false;
      const coerced = getVariableValues(this.deps.schema, found.operation.variableDefinitions ?? [], variables);
      const fieldDef = this.deps.schema.getSubscriptionType()?.getFields().agentDeployments;
      if (coerced.errors || !fieldDef || found.shared.field.kind !== Kind.FIELD) throw new Error("not for the direct path");
      const { after, agentId } = getArgumentValues(fieldDef, found.shared.field, coerced.coerced);
      const target = agentStreamOf(owner.identity, agentId as string | null | undefined);
      const cursor = (after as bigint | null | undefined) ?? 0n;
      await this.deps.delivery.checkAgentStream(target.id, cursor);
      const guard = { onOverflow: () => stream.cutOff() };
      stream.sub = await this.deps.delivery.subscribeAgent(target.id, cursor, guard, target.bySelf, (onClose) =>
        stream.attach(onClose),
      );
    } catch {
      owner.caps.release(owner.ctx, id);
      return false;
    }
    // The client completed it, or the socket closed, while it opened; or it was cut off already.
    if (owner.ctx.subscriptions[id] !== null || stream.isClosed) {
      if (owner.ctx.subscriptions[id] === null) delete owner.ctx.subscriptions[id];
      stream.close();
    } else owner.ctx.subscriptions[id] = stream;
    return true;
  }

  /**
   * The rest of an event's `next` frame after its id: the payload, serialised once, and the
   * frame's closing brace, as bytes every subscriber's socket sends (see DirectStream.write).
   * Consecutive subscribers of one dispatch get the same object, so the last one is kept.
   */
  frameTail(shared: SharedOperation, event: AgentDeploymentEventModel): Buffer | Promise<Buffer> {
    const object = event.deploymentObject;
    if (object && shared.lastObject === object && shared.lastTail) return shared.lastTail;
    const result = this.deps.results.resultFor(shared.key, shared.args, event);
    const tail = result instanceof Promise ? result.then((r) => this.tailOf(r)) : this.tailOf(result);
    if (object && !(tail instanceof Promise)) [shared.lastObject, shared.lastTail] = [object, tail];
    return tail;
  }

  private readonly tails = new WeakMap<SharedResult, Buffer>();

  private tailOf(result: SharedResult): Buffer {
    let tail = this.tails.get(result);
    if (!tail) this.tails.set(result, (tail = Buffer.from(`${this.json(result)}}`)));
    return tail;
  }

  private json(result: SharedResult): string {
    const max = this.deps.maxResponseBytes;
    if (result.errors) return JSON.stringify({ data: result.data, errors: this.deps.format(result.errors) });
    return result.json.length > max ? JSON.stringify({ errors: this.deps.format([responseTooLarge(max)]) }) : result.json;
  }

  get maxBuffered(): number {
    return this.deps.maxSubscriberBufferBytes;
  }

  slowConsumer(socket: WebSocket): void {
    this.deps.delivery.slowConsumerClosed();
    socket.close(SLOW_CONSUMER_CLOSE, "Slow consumer: send buffer exceeded");
  }
}

/**
 * One direct agentDeployments stream: the hub's sink, and what graphql-ws holds in its
 * subscriptions (an async generator to it: the client's `complete` and the socket's close call
 * `return`). One object per subscription; its methods live on the prototype.
 */
class DirectStream implements EventSink {
  sub: AgentSubscription | null = null;
  private hubClosed: (() => void) | null = null;
  private closed = false;
  /** Set while an event's shared result is still executing: later events wait behind it. */
  private tail: Promise<void> | null = null;

  constructor(
    private readonly direct: DirectDeployments,
    private readonly owner: DirectOwner,
    private readonly id: string,
    private readonly shared: SharedOperation,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  attach(onClose: () => void): EventSink {
    this.hubClosed = onClose;
    return this;
  }

  push(event: AgentDeploymentEventModel): void {
    if (this.closed) return;
    if (this.owner.socket.bufferedAmount > this.direct.maxBuffered) return this.cutOff();
    const tail = this.direct.frameTail(this.shared, event);
    if (!(tail instanceof Promise) && !this.tail) return this.write(tail);
    const next = (this.tail ?? Promise.resolve())
      .then(() => tail)
      .then(
        (j) => this.write(j),
        () => this.close(),
      );
    this.tail = next;
    void next.then(() => {
      if (this.tail === next) this.tail = null;
    });
  }

  cutOff(): void {
    // Close the socket first, as the generic path does: no `complete` goes out to a consumer cut off.
    this.direct.slowConsumer(this.owner.socket);
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hubClosed?.();
    const { ctx, socket, caps } = this.owner;
    // Ended here (the hub stopped, a slow consumer): tell the client, as graphql-ws would.
    if (ctx.subscriptions[this.id] === this) {
      delete ctx.subscriptions[this.id];
      if (socket.readyState === socket.OPEN) socket.send(`{"id":${JSON.stringify(this.id)},"type":"complete"}`);
    }
    caps.release(ctx, this.id);
  }

  /**
   * One `next` message: this subscription's envelope, then the tail every subscriber shares,
   * copied into one buffer outside the JS heap. Per subscriber that is one short string and a
   * copy of bytes, not a string of the whole payload to build, collect and encode as UTF-8.
   */
  private write(tail: Buffer): void {
    const { socket } = this.owner;
    if (this.closed || socket.readyState !== socket.OPEN) return;
    const envelope = `{"id":${JSON.stringify(this.id)},"type":"next","payload":`;
    const head = Buffer.byteLength(envelope);
    const frame = Buffer.allocUnsafe(head + tail.length);
    frame.write(envelope, 0);
    tail.copy(frame, head);
    socket.send(frame, { binary: false });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<never>> {
    return Promise.resolve(DONE);
  }

  return(): Promise<IteratorResult<never>> {
    this.close();
    return Promise.resolve(DONE);
  }
}
