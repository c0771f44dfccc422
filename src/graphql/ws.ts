import type { GraphQLSchema } from "graphql";
import { CloseCode } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import type { WebSocketServer } from "ws";
import type { Identity, IdentityResolver } from "../auth/identity.js";
import type { BrokerConfig } from "../config.js";
import type { Database } from "../db/client.js";
import { formatGraphQLError } from "./format-error.js";
import type { GraphQLContext } from "./context.js";
import { createLoaders } from "./loaders.js";
import { createSharedSubscribe } from "./shared-subscribe.js";
import { GraphQLError } from "graphql";
import type { DeliveryHub } from "../delivery/hub.js";

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
  return useServer<Record<string, unknown>, ConnectionExtra>(
    {
      schema: opts.schema,
      subscribe: createSharedSubscribe(),
      connectionInitWaitTimeout: 10_000,
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const identity = await opts.identities.resolve(typeof raw === "string" ? raw : undefined);
        if (!identity) {
          ctx.extra.socket.close(CloseCode.Unauthorized, "Unauthorized");
          return false;
        }
        (ctx.extra as ConnectionExtra).identity = identity;
        return true;
      },
      // Bounded work per connection: a client flooding subscribe messages gets an error per extra one.
      onSubscribe: (ctx, id) => {
        // graphql-ws has already reserved this subscription's id in ctx.subscriptions.
        if (Object.keys(ctx.subscriptions).length > opts.config.broker.maxSubscriptionsPerConnection) {
          return [new GraphQLError(`at most ${opts.config.broker.maxSubscriptionsPerConnection} subscriptions per connection`, {
            extensions: { code: "TOO_MANY_SUBSCRIPTIONS" },
          })];
        }
        return undefined;
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
