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
 * - One keep-alive timer sweeps every socket instead of a timer per socket.
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
  const server = makeServer<P, WsExtra & Partial<E>>({ ...options, jsonMessageReplacer: sharedPayloadReplacer });
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
  wss.on("connection", (socket, request) => {
    alive.add(socket);
    socket.on("pong", () => alive.add(socket));
    socket.once("error", (err) => {
      log.warn({ err }, "websocket error");
      socket.close(CloseCode.InternalServerError, reasonOf(err));
    });
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
            if (!intercept?.(extra, data, handle)) void handle(data);
          });
        },
      },
      extra,
    );
    socket.once("close", (code, reason) => closed(code, String(reason)));
  });
  return {
    dispose: async () => {
      clearInterval(sweep);
      for (const client of wss.clients) client.close(1001, "Going away");
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
