import { CloseCode, handleProtocols, makeServer, type ConnectionInitMessage, type ServerOptions } from "graphql-ws";
import type { IncomingMessage } from "node:http";
import type { WebSocket, WebSocketServer } from "ws";
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
 * - One keep-alive timer sweeps every socket instead of a timer per socket; so does one for the
 *   connection_init timeout. Listeners that need no state of their own are shared.
 * - `intercept` sees messages first (graphql/direct-deployments.ts takes agentDeployments).
 */
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

export function serveGraphQLWs<P extends ConnectionInitMessage["payload"], E extends Record<PropertyKey, unknown>>(
  options: ServerOptions<P, WsExtra & Partial<E>>,
  wss: WebSocketServer,
  keepAliveMs: number,
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
  const alive = new WeakSet<WebSocket>();
  // A socket that has not answered the previous sweep's ping is dead: terminate it.
  const sweep = setInterval(() => {
    for (const socket of wss.clients) {
      if (socket.readyState !== socket.OPEN) continue;
      if (!alive.has(socket)) {
        socket.terminate();
        continue;
      }
      alive.delete(socket);
      socket.ping();
    }
  }, keepAliveMs);
  sweep.unref();
  // graphql-ws's connection_init timeout, as one sweep instead of a timer held by every socket
  // for its whole life (graphql-ws's own is turned off below).
  const awaitingInit = new Map<WebSocket, number>();
  const initSweep = setInterval(
    () => {
      const expired = Date.now() - initTimeoutMs;
      for (const [socket, since] of awaitingInit) {
        if (since > expired) break; // in order of arrival
        awaitingInit.delete(socket);
        socket.close(CloseCode.ConnectionInitialisationTimeout, "Connection initialisation timeout");
      }
    },
    Math.max(50, initTimeoutMs / 10),
  );
  initSweep.unref();
  // Shared listeners (the socket is `this`): no closures per socket.
  function onPong(this: WebSocket) {
    alive.add(this);
  }
  function onError(this: WebSocket, err: Error) {
    log.warn({ err }, "websocket error");
    this.close(CloseCode.InternalServerError, reasonOf(err));
  }
  wss.on("connection", (socket, request) => {
    alive.add(socket);
    awaitingInit.set(socket, Date.now());
    socket.on("pong", onPong);
    socket.on("error", onError);
    // graphql-ws's own adapter builds the same object: the socket, its upgrade request, and
    // whatever onConnect adds later.
    const extra = { socket, request } as WsExtra & Partial<E>;
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            const frame = splicePayload(data);
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(frame, (err) => (err ? reject(err) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (cb) => {
          const handle = async (data: string) => {
            try {
              await cb(data);
            } catch (err) {
              log.error({ err }, "handling a websocket message failed");
              socket.close(CloseCode.InternalServerError, reasonOf(err));
            }
          };
          socket.on("message", (event) => {
            const data = String(event);
            if (awaitingInit.has(socket) && isConnectionInit(data)) awaitingInit.delete(socket);
            if (!intercept?.(extra, data, handle)) void handle(data);
          });
        },
      },
      extra,
    );
    socket.on("close", (code, reason) => {
      awaitingInit.delete(socket);
      void closed(code, String(reason));
    });
  });
  return {
    dispose: async () => {
      clearInterval(sweep);
      clearInterval(initSweep);
      for (const client of wss.clients) client.close(1001, "Going away");
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
