import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { getOperationAST, GraphQLError, type GraphQLSchema } from "graphql";
import type { UpgradeGate } from "../http/upgrade-gate.js";
import { connectionKey, MISSING_KEY_REASON, UNKNOWN_KEY_REASON } from "./connection-key.js";
import { CloseCode } from "graphql-ws";
import type { WebSocket, WebSocketServer } from "ws";
import { originOf, type RequestOrigin } from "../audit/capture/origin.js";
import type { Identity, IdentityResolver } from "../auth/identity.js";
import type { Connection } from "../delivery/connections.js";
import type { BrokerConfig } from "../config.js";
import type { ErrorFormatter } from "./client-errors.js";
import type { ContextFactory } from "./context.js";
import { SharedResult, SharedResults, createSharedSubscribe } from "../delivery/shared-subscribe.js";
import { DirectDeployments, type WsContext } from "./direct-deployments.js";
import { serveGraphQLWs, type MessageIntercept, type WsExtra } from "./ws-server.js";
import { cachedOperationLimitErrors } from "./limit-cache.js";
import { limitError } from "./limits.js";
import { jsonBytesOver, responseTooLarge } from "./response-size.js";
import { SocketCaps } from "./socket-caps.js";
import { checkDocument, DOCUMENT_CACHE_BYTES, DocumentCache, isDocument } from "./document-cache.js";
import type { DeliveryHub } from "../delivery/hub.js";
import { SLOW_CONSUMER_CLOSE } from "../delivery/resolvers.js";
import { BrokkrError, fromDatabaseError } from "../errors.js";
import { moduleLogger } from "../logger.js";

const log = moduleLogger("graphql-ws");

/**
 * graphql-ws keeps a subscription's whole subscribe message (id, query, variables, extensions)
 * until the subscription ends: 40 subscriptions with 8 MB ids grew the broker by 900 MB. Ids
 * are short, and a subscription's payload is capped a little above the document limit.
 */
const MAX_OPERATION_ID_CHARS = 128;
const SUBSCRIPTION_PAYLOAD_MARGIN_BYTES = 16 * 1024;

type ConnectionExtra = {
  identity?: Identity;
  /** Revocation: closes the socket when its key is rotated or deleted, or its agent deactivated. */
  connection?: Connection;
  /** The client, kept from the upgrade request (which is dropped) for the audit log. */
  origin?: RequestOrigin;
};

/**
 * graphql-ws on the HTTP port. The PAK comes in `connection_init`; a missing or wrong one
 * closes the socket with 4401 (never a silent hang). Internal error text never reaches clients.
 */
export function startGraphQLWs(opts: {
  schema: GraphQLSchema;
  wss: WebSocketServer;
  identities: IdentityResolver;
  contexts: ContextFactory;
  config: BrokerConfig;
  delivery: DeliveryHub;
  formatError: ErrorFormatter;
  /** The broker's one cap on sockets not yet authenticated. */
  gate: UpgradeGate;
}) {
  const broker = opts.config.broker;
  const documents = new DocumentCache(DOCUMENT_CACHE_BYTES, (query) => checkDocument(opts.schema, broker, query));
  const caps = new SocketCaps(broker);
  const backedUp = (socket: { bufferedAmount: number }) => socket.bufferedAmount > broker.maxSubscriberBufferBytes;
  // Results of queries and mutations queue on the socket too: a client that never reads is
  // closed like a slow subscriber, whatever it asked for.
  const cutOffIfBackedUp = (socket: WebSocket) => {
    if (socket.readyState !== socket.OPEN) return true; // closing already: counted once
    if (!backedUp(socket)) return false;
    opts.delivery.slowConsumerClosed();
    socket.close(SLOW_CONSUMER_CLOSE, "Slow consumer: send buffer exceeded");
    return true;
  };
  const format = (errors: readonly GraphQLError[]) => errors.map((e) => opts.formatError(e.toJSON(), e));
  const results = new SharedResults();
  const direct = new DirectDeployments({
    schema: opts.schema,
    delivery: opts.delivery,
    results,
    sharedContext: opts.contexts.forSocket(null, { close: () => {}, backedUp: () => false }),
    maxResponseBytes: broker.maxResponseBytes,
    maxSubscriberBufferBytes: broker.maxSubscriberBufferBytes,
    format,
  });
  const wsContexts = new WeakMap<object, WsContext>();
  // agentDeployments subscriptions that pass every check onSubscribe makes go the direct path
  // (direct-deployments.ts); the checks are the same, without their side effects: whatever
  // would be refused or cut off goes to graphql-ws, which answers as it always has.
  const intercept: MessageIntercept<WsExtra & ConnectionExtra> = (extra, data, fallback) => {
    const ctx = wsContexts.get(extra);
    const { identity, connection, socket } = extra;
    if (!ctx?.acknowledged || !identity || !connection) return false;
    const msg = subscribeMessage(data);
    if (!msg || msg.id in ctx.subscriptions || msg.id.length > MAX_OPERATION_ID_CHARS || backedUp(socket)) return false;
    if (Object.keys(ctx.subscriptions).length >= broker.maxSubscriptionsPerConnection) return false;
    const { id, payload } = msg;
    const doc = documents.get(payload.query);
    if (!isDocument(doc)) return false;
    const variables = payload.variables ?? {};
    if (cachedOperationLimitErrors(opts.schema, doc, variables, payload.operationName ?? undefined, broker).length > 0)
      return false;
    if (jsonBytesOver(payload, broker.maxDocumentBytes + SUBSCRIPTION_PAYLOAD_MARGIN_BYTES)) return false;
    const found = direct.operationOf(doc, payload.operationName, variables);
    if (!found) return false;
    ctx.subscriptions[id] = null; // reserved, as graphql-ws does
    void direct.open({ ctx, socket, identity, connection, caps }, id, found, variables).then((opened) => {
      if (opened || ctx.subscriptions[id] !== null) return;
      delete ctx.subscriptions[id];
      return fallback(data);
    });
    return true;
  };
  const server = serveGraphQLWs<Record<string, unknown>, ConnectionExtra>(
    {
      schema: opts.schema,
      subscribe: createSharedSubscribe(results),
      connectionInitWaitTimeout: 10_000,
      onConnect: async (ctx) => {
        const raw = connectionKey(ctx.connectionParams);
        let key: Awaited<ReturnType<IdentityResolver["resolveKey"]>>;
        ctx.extra.origin = originOf(ctx.extra.request, "graphql-ws", broker.audit.trustForwardedFor);
        try {
          key = await opts.identities.resolveKey(raw, ctx.extra.origin);
        } catch (err) {
          // graphql-ws would close with 4500 and the driver's message (host, port); 1013 "try
          // again later" says the server is at fault, and graphql-ws clients retry it.
          const coded = fromDatabaseError(err);
          if (coded instanceof BrokkrError && coded.code === "SERVICE_UNAVAILABLE") {
            ctx.extra.socket.close(1013, "Service unavailable; retry later");
          } else {
            log.error({ err }, "resolving a websocket identity failed");
            ctx.extra.socket.close(CloseCode.InternalServerError, "Internal server error");
          }
          return false;
        }
        if (!key) {
          ctx.extra.socket.close(CloseCode.Unauthorized, raw ? UNKNOWN_KEY_REASON : MISSING_KEY_REASON);
          return false;
        }
        // Closed while its key was looked up (onClose has run already, finding nothing to
        // remove): registering it now would keep the socket and its context for ever.
        if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) return false;
        const { extra } = ctx;
        extra.identity = key.identity;
        extra.connection = opts.delivery.connections.add(key, extra.socket);
        caps.authenticated(ctx.extra.socket);
        // Nor is the key itself, once verified (onClose removes the connection).
        (ctx as { connectionParams?: unknown }).connectionParams = undefined;
        wsContexts.set(extra, ctx);
        // The upgrade request is not needed after authentication; holding it costs memory per agent.
        // (graphql-ws declares it always present; cleared, not deleted, so the object keeps its fast shape.)
        (ctx.extra as { request?: unknown }).request = undefined;
        return true;
      },
      // Bounded work per connection: a client flooding subscribe messages gets an error per extra
      // one. Documents are checked once per query text and shared; variables-dependent limits
      // (list lengths, cost) per message: the same checks as HTTP (http-limits.ts).
      onSubscribe: async (ctx, id, payload) => {
        if (cutOffIfBackedUp(ctx.extra.socket)) return [limitError("SLOW_CONSUMER", "send buffer exceeded")];
        if (id.length > MAX_OPERATION_ID_CHARS) {
          ctx.extra.socket.close(CloseCode.BadRequest, `Operation id longer than ${MAX_OPERATION_ID_CHARS} characters`);
          return [limitError("BAD_REQUEST", "operation id too long")];
        }
        // graphql-ws has already reserved this subscription's id in ctx.subscriptions.
        if (Object.keys(ctx.subscriptions).length > broker.maxSubscriptionsPerConnection) {
          return [
            limitError("TOO_MANY_SUBSCRIPTIONS", `at most ${broker.maxSubscriptionsPerConnection} subscriptions per connection`),
          ];
        }
        const doc = documents.get(payload.query);
        if (!isDocument(doc)) return doc;
        const variables = payload.variables ?? {};
        const refused = cachedOperationLimitErrors(opts.schema, doc, variables, payload.operationName ?? undefined, broker);
        if (refused.length > 0) return refused;
        const subscription = getOperationAST(doc, payload.operationName)?.operation === "subscription";
        const payloadCap = broker.maxDocumentBytes + SUBSCRIPTION_PAYLOAD_MARGIN_BYTES;
        if (subscription && jsonBytesOver(payload, payloadCap)) {
          return [
            limitError(
              "SUBSCRIPTION_TOO_LARGE",
              `a subscription's variables and extensions may take at most ${payloadCap} bytes with its document`,
            ),
          ];
        }
        // The key is re-read for every operation (after the cheap checks): a write sent after a
        // revocation committed is refused even before this broker hears the notification.
        if (!(await ctx.extra.connection?.recheck())) {
          return [new GraphQLError("the PAK of this connection is no longer valid", { extensions: { code: "UNAUTHENTICATED" } })];
        }
        const { identity } = ctx.extra;
        if (identity && subscription && !caps.acquire(ctx, id, identity)) {
          return [
            limitError("TOO_MANY_SUBSCRIPTIONS", `at most ${broker.maxSubscriptionsPerIdentity} subscriptions per identity`),
          ];
        }
        return { schema: opts.schema, document: doc, operationName: payload.operationName, variableValues: variables };
      },
      onComplete: (ctx, id) => caps.release(ctx, id),
      onClose: (ctx) => {
        ctx.extra.connection?.remove();
        caps.releaseAll(ctx);
      },
      context: (ctx) =>
        opts.contexts.forSocket(
          ctx.extra.identity ?? null,
          {
            close: (code, reason) => ctx.extra.socket.close(code, reason),
            backedUp: () => backedUp(ctx.extra.socket),
          },
          ctx.extra.origin,
        ),
      onError: (_ctx, _id, _payload, errors) => format(errors),
      onNext: (ctx, _id, _payload, _args, result) => {
        cutOffIfBackedUp(ctx.extra.socket);
        // Shared across subscribers: measured and serialised once, spliced into the frame by ws-server.ts.
        if (result instanceof SharedResult && !result.errors)
          return result.json.length > broker.maxResponseBytes
            ? { errors: format([responseTooLarge(broker.maxResponseBytes)]) }
            : result;
        if (jsonBytesOver(result, broker.maxResponseBytes))
          return { errors: format([responseTooLarge(broker.maxResponseBytes)]) };
        return result.errors ? { ...result, errors: format(result.errors) } : result;
      },
    },
    opts.wss,
    { intervalMs: 30_000 },
    intercept,
  );
  /** A /graphql upgrade, through the gate: the socket holds its place until connection_init authenticates it. */
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    opts.gate.enter(socket, head, (early, release) =>
      opts.wss.handleUpgrade(req, socket, early, (ws) => {
        caps.admitted(ws, release);
        opts.wss.emit("connection", ws, req);
      }),
    );
  return { ...server, upgrade };
}

interface SubscribePayload {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const optional = (v: unknown, ok: (v: unknown) => boolean) => v === undefined || v === null || ok(v);

/** A well-formed `subscribe` message, else null (graphql-ws then answers whatever it is). */
function subscribeMessage(data: string): { id: string; payload: SubscribePayload } | null {
  if (!data.includes('"subscribe"')) return null;
  let msg: unknown;
  try {
    msg = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isRecord(msg) || msg.type !== "subscribe" || typeof msg.id !== "string" || msg.id === "") return null;
  const p = msg.payload;
  if (!isRecord(p) || typeof p.query !== "string") return null;
  if (!optional(p.operationName, (v) => typeof v === "string") || !optional(p.variables, isRecord)) return null;
  if (!optional(p.extensions, isRecord)) return null;
  return { id: msg.id, payload: p as unknown as SubscribePayload };
}
