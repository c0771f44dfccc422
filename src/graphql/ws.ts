import type { GraphQLSchema } from "graphql";
import { CloseCode } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import type { WebSocketServer } from "ws";
import type { Identity, IdentityResolver } from "../auth/identity.js";
import type { BrokerConfig } from "../config.js";
import type { Database } from "../db/client.js";
import { BrokkrError, fromDatabaseError } from "../errors.js";
import { moduleLogger } from "../logger.js";
import { formatGraphQLError } from "./format-error.js";
import type { GraphQLContext } from "./context.js";
import { createLoaders } from "./loaders.js";
import { createSharedSubscribe } from "./shared-subscribe.js";
import { GraphQLError, parse, specifiedRules, validate, type DocumentNode } from "graphql";
import { depthLimitRule, queryCost } from "./limits.js";
import type { DeliveryHub } from "../delivery/hub.js";

const log = moduleLogger("graphql-ws");

/** Parsed-and-validated documents by query text, the oldest dropped past a few hundred. */
class DocumentCache {
  private readonly entries = new Map<string, DocumentNode | readonly GraphQLError[]>();
  constructor(private readonly build: (query: string) => DocumentNode | readonly GraphQLError[]) {}

  get(query: string): DocumentNode | readonly GraphQLError[] {
    let entry = this.entries.get(query);
    if (!entry) {
      entry = this.build(query);
      if (this.entries.size >= 500) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(query, entry);
    }
    return entry;
  }
}

type ConnectionExtra = {
  identity?: Identity;
};

/**
 * graphql-ws on the HTTP port. The PAK comes in `connection_init`; a missing or wrong one
 * closes the socket with 4401 (never a silent hang). Internal error text never reaches clients.
 */
export function startGraphQLWs(opts: {
  schema: GraphQLSchema;
  wss: WebSocketServer;
  identities: IdentityResolver;
  db: Database;
  config: BrokerConfig;
  delivery: DeliveryHub;
}) {
  const rules = [...specifiedRules, depthLimitRule(opts.config.broker.maxQueryDepth)];
  const documents = new DocumentCache((query) => {
    try {
      const document = parse(query);
      const errors = validate(opts.schema, document, rules);
      return errors.length > 0 ? errors : document;
    } catch (err) {
      return [err as GraphQLError];
    }
  });
  return useServer<Record<string, unknown>, ConnectionExtra>(
    {
      schema: opts.schema,
      subscribe: createSharedSubscribe(),
      connectionInitWaitTimeout: 10_000,
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        let identity: Identity | null;
        try {
          identity = await opts.identities.resolve(typeof raw === "string" ? raw : undefined);
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
        if (!identity) {
          ctx.extra.socket.close(CloseCode.Unauthorized, "Unauthorized");
          return false;
        }
        (ctx.extra as ConnectionExtra).identity = identity;
        // The upgrade request is not needed after authentication; holding it costs memory per agent.
        delete (ctx.extra as { request?: unknown }).request;
        return true;
      },
      // Bounded work per connection: a client flooding subscribe messages gets an error per extra
      // one. Documents are parsed and validated (with the HTTP endpoint's depth and cost limits)
      // once per query text and shared: 10,000 agents send the same subscription.
      onSubscribe: (ctx, _id, payload) => {
        // graphql-ws has already reserved this subscription's id in ctx.subscriptions.
        if (Object.keys(ctx.subscriptions).length > opts.config.broker.maxSubscriptionsPerConnection) {
          return [new GraphQLError(`at most ${opts.config.broker.maxSubscriptionsPerConnection} subscriptions per connection`, {
            extensions: { code: "TOO_MANY_SUBSCRIPTIONS" },
          })];
        }
        const document = documents.get(payload.query);
        if (Array.isArray(document)) return document;
        let cost: number;
        try {
          cost = queryCost(opts.schema, document as DocumentNode, payload.variables ?? {}, payload.operationName ?? undefined);
        } catch (err) {
          // Variables that do not coerce (e.g. after: "abc") fail here first.
          return [new GraphQLError((err as Error).message, { extensions: { code: "BAD_USER_INPUT" } })];
        }
        if (cost > opts.config.broker.maxQueryCost) {
          return [new GraphQLError(`query cost ${cost} exceeds the limit of ${opts.config.broker.maxQueryCost}`, { extensions: { code: "QUERY_TOO_COSTLY" } })];
        }
        return { schema: opts.schema, document: document as DocumentNode, operationName: payload.operationName, variableValues: payload.variables };
      },
      context: (ctx): GraphQLContext => ({
        identity: (ctx.extra as ConnectionExtra).identity ?? null,
        db: opts.db,
        loaders: createLoaders(opts.db, false),
        delivery: opts.delivery,
        connection: {
          close: (code, reason) => ctx.extra.socket.close(code, reason),
          backedUp: () => ctx.extra.socket.bufferedAmount > opts.config.broker.maxSubscriberBufferBytes,
        },
      }),
      onError: (_ctx, _id, _payload, errors) =>
        errors.map((e) => {
          const f = formatGraphQLError(e.toJSON(), e);
          return new GraphQLError(f.message, { extensions: f.extensions, path: f.path });
        }),
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!("errors" in result) || !result.errors) return result;
        return {
          ...result,
          errors: result.errors.map((e) => {
            const f = formatGraphQLError(e.toJSON(), e);
            return new GraphQLError(f.message, { extensions: f.extensions, path: f.path });
          }),
        };
      },
    },
    opts.wss,
    30_000,
  );
}
