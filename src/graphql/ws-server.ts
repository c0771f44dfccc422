import { CloseCode, handleProtocols, makeServer, type ConnectionInitMessage, type ServerOptions } from "graphql-ws";
import type { IncomingMessage } from "node:http";
import type { RawData, WebSocket, WebSocketServer } from "ws";
import { SharedResult } from "../delivery/shared-subscribe.js";
import { moduleLogger } from "../logger.js";

const log = moduleLogger("graphql-ws");

/**
 * graphql-ws's `useServer` (graphql-ws/use/ws) with two changes for fan-out to thousands of
 * agents:
 * - A `next` whose payload is a SharedResult (one agentDeployments result shared by every
 *   subscriber asking the same question, see delivery/shared-subscribe.ts) is not stringified per
 *   subscriber: graphql-ws stringifies the small envelope with a placeholder for the payload
 *   (PAYLOAD_PLACEHOLDER, through its jsonMessageReplacer) and `send` splices the result's JSON,
 *   serialised once, in its place. Stringifying and sending are synchronous back to back in
 *   graphql-ws (`socket.send(stringifyMessage(…))`), so the one pending slot cannot be mixed up.
 * - One keep-alive timer instead of a timer per socket, pinging every socket once per interval
 *   a turn's worth at a time: pinging 10,000 sockets in one run held the event loop ~300 ms, and
 *   a fan-out that fell into it waited (issue 13). Rounds stay bursts, not a trickle spread over
 *   the interval: with pings going out all the time V8 never saw the broker idle and kept ~40 MB
 *   more heap committed at 10,000 agents. One timer does the connection_init timeout too.
 *   Each socket is one SocketAdapter (graphql-ws's socket interface and the socket's state),
 *   found by the socket's listeners, which are shared: no closures per socket.
 * - `intercept` sees messages first (graphql/direct-deployments.ts takes agentDeployments).
 */
/** Sockets a keep-alive round pings before it yields the event loop (a round of 10,000 took ~50 ms of CPU here). */
const KEEP_ALIVE_SOCKETS_PER_TURN = 200;
const PAYLOAD_PLACEHOLDER = "\u0000brokkr:shared-payload";
const TAIL = `"payload":${JSON.stringify(PAYLOAD_PLACEHOLDER)}}`;
let pendingPayload: string | null = null;

/** As graphql-ws/use/ws declares it. */
export type WsExtra = { readonly socket: WebSocket; readonly request: IncomingMessage };

export function sharedPayloadReplacer(this: unknown, key: string, value: unknown): unknown {
  if (key === "payload" && value instanceof SharedResult) {
    pendingPayload = value.json;
    return PAYLOAD_PLACEHOLDER;
  }
  return value;
}

/** The frame graphql-ws built, with a shared payload's JSON spliced in for its placeholder. */
export function splicePayload(data: string): string {
  const json = pendingPayload;
  if (json === null) return data;
  pendingPayload = null;
  if (!data.endsWith(TAIL)) throw new Error("a shared payload's placeholder is not where the envelope ends");
  return `${data.slice(0, data.length - TAIL.length)}"payload":${json}}`;
}

function isConnectionInit(data: string): boolean {
  try {
    return (JSON.parse(data) as { type?: unknown })?.type === "connection_init";
  } catch {
    return false;
  }
}

const isProd = () => process.env.NODE_ENV === "production";
const reasonOf = (err: unknown) =>
  isProd() ? "Internal server error" : (err instanceof Error ? err.message : String(err)).slice(0, 120);

/**
 * Sees each message before graphql-ws: true when it took the message (and will hand it to
 * `fallback`, graphql-ws's own handling, if it changes its mind). It must decide synchronously,
 * so that messages are still taken in the order they came.
 */
export type MessageIntercept<X> = (extra: X, data: string, fallback: (data: string) => Promise<void>) => boolean;

/**
 * graphql-ws's view of one socket (its `WebSocket` interface) and what the shared listeners
 * need of it: one object per socket, its methods on the prototype. Per-socket closures for
 * send, close, onMessage and the listeners cost ~600 bytes per idle agent (issue 13).
 */
class SocketAdapter<X> {
  /** graphql-ws's message handler (onMessage); null until it opened the socket, and if it refused it. */
  private handler: ((data: string) => Promise<void>) | null = null;
  /** What graphql-ws's `opened` returned: called once, when the socket closes. */
  closed: ((code?: number, reason?: string) => Promise<void>) | null = null;
  /** Answered the last keep-alive ping (or is new). */
  alive = true;

  constructor(
    readonly socket: WebSocket,
    readonly extra: X,
  ) {}

  get protocol(): string {
    return this.socket.protocol;
  }

  get opened(): boolean {
    return this.handler !== null;
  }

  send(data: string): Promise<void> {
    const frame = splicePayload(data);
    const { socket } = this;
    if (socket.readyState !== socket.OPEN) return Promise.resolve();
    return new Promise<void>((resolve, reject) => socket.send(frame, (err) => (err ? reject(err) : resolve())));
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  /** One keep-alive visit, once per interval: ping, or end the socket if the last ping went unanswered. */
  keepAlive(): void {
    const { socket } = this;
    if (socket.readyState !== socket.OPEN) return;
    if (!this.alive) return socket.terminate();
    this.alive = false;
    socket.ping();
  }

  onMessage(cb: (data: string) => Promise<void>): void {
    this.handler = cb;
  }

  /** graphql-ws's own handling of one message; a fault closes the socket. */
  async handle(data: string): Promise<void> {
    try {
      await this.handler?.(data);
    } catch (err) {
      log.error({ err }, "handling a websocket message failed");
      this.socket.close(CloseCode.InternalServerError, reasonOf(err));
    }
  }
}

export function serveGraphQLWs<P extends ConnectionInitMessage["payload"], E extends Record<PropertyKey, unknown>>(
  options: ServerOptions<P, WsExtra & Partial<E>>,
  wss: WebSocketServer,
  keepAlive: { intervalMs: number; socketsPerTurn?: number },
  intercept?: MessageIntercept<WsExtra & Partial<E>>,
) {
  const initTimeoutMs = options.connectionInitWaitTimeout ?? 3000;
  const server = makeServer<P, WsExtra & Partial<E>>({
    ...options,
    connectionInitWaitTimeout: 0,
    jsonMessageReplacer: sharedPayloadReplacer,
  });
  wss.options.handleProtocols = handleProtocols;
  wss.on("error", (err) => log.error({ err }, "websocket server error"));
  /** Every open socket's adapter, from its 'connection' to its 'close'. */
  const adapters = new Map<WebSocket, SocketAdapter<WsExtra & Partial<E>>>();
  // Once per interval, every socket, socketsPerTurn at a time with a turn of the event loop
  // between (a live iterator over the map: it skips sockets deleted meanwhile). A round still
  // going when the next is due (a busy loop) finishes first: no socket is pinged twice in one.
  const { intervalMs: keepAliveMs, socketsPerTurn = KEEP_ALIVE_SOCKETS_PER_TURN } = keepAlive;
  let round: MapIterator<SocketAdapter<WsExtra & Partial<E>>> | null = null;
  const turn = () => {
    for (let left = socketsPerTurn; left > 0; left--) {
      const next = round?.next();
      if (!next || next.done) return void (round = null);
      next.value.keepAlive();
    }
    setImmediate(turn);
  };
  const sweep = setInterval(() => {
    if (round) return;
    round = adapters.values();
    turn();
  }, keepAliveMs);
  sweep.unref();
  // graphql-ws's connection_init timeout, as one sweep instead of a timer held by every socket
  // for its whole life (graphql-ws's own is turned off below). The sweep runs only while a socket
  // awaits its init: an idle broker's every wake-up cost milliseconds of CPU on these machines.
  const awaitingInit = new Map<WebSocket, number>();
  let initSweep: NodeJS.Timeout | null = null;
  const sweepInit = () => {
    const expired = Date.now() - initTimeoutMs;
    for (const [socket, since] of awaitingInit) {
      if (since > expired) break; // in order of arrival
      awaitingInit.delete(socket);
      socket.close(CloseCode.ConnectionInitialisationTimeout, "Connection initialisation timeout");
    }
    if (awaitingInit.size === 0 && initSweep) {
      clearInterval(initSweep);
      initSweep = null;
    }
  };
  const awaitInit = (socket: WebSocket) => {
    awaitingInit.set(socket, Date.now());
    if (initSweep) return;
    initSweep = setInterval(sweepInit, Math.max(50, initTimeoutMs / 10));
    initSweep.unref();
  };
  // Shared listeners (the socket is `this`): no closures per socket.
  function onPong(this: WebSocket) {
    const adapter = adapters.get(this);
    if (adapter) adapter.alive = true;
  }
  function onError(this: WebSocket, err: Error) {
    log.warn({ err }, "websocket error");
    this.close(CloseCode.InternalServerError, reasonOf(err));
  }
  function onMessage(this: WebSocket, event: RawData) {
    const adapter = adapters.get(this);
    if (!adapter?.opened) return; // graphql-ws refused it (and is closing it): as if nobody listened
    const data = String(event);
    if (awaitingInit.has(this) && isConnectionInit(data)) awaitingInit.delete(this);
    if (!intercept?.(adapter.extra, data, (taken) => adapter.handle(taken))) void adapter.handle(data);
  }
  function onClose(this: WebSocket, code: number, reason: Buffer) {
    awaitingInit.delete(this);
    const adapter = adapters.get(this);
    adapters.delete(this);
    void adapter?.closed?.(code, String(reason));
  }
  wss.on("connection", (socket, request) => {
    awaitInit(socket);
    socket.on("pong", onPong);
    socket.on("error", onError);
    // graphql-ws's own adapter builds the same extra: the socket, its upgrade request, and
    // whatever onConnect adds later.
    const adapter = new SocketAdapter(socket, { socket, request } as WsExtra & Partial<E>);
    adapters.set(socket, adapter);
    adapter.closed = server.opened(adapter, adapter.extra);
    socket.on("message", onMessage);
    socket.on("close", onClose);
  });
  return {
    dispose: async () => {
      clearInterval(sweep);
      if (initSweep) clearInterval(initSweep);
      for (const client of wss.clients) client.close(1001, "Going away");
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
