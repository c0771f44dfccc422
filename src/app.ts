import http from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { expressMiddleware } from "@as-integrations/express5";
import cors from "cors";
import express from "express";
import { WebSocketServer } from "ws";
import { bootstrapAdminPak } from "./auth/admin-pak.js";
import { createIdentityResolver } from "./auth/identity.js";
import type { BrokerConfig } from "./config.js";
import { connectDatabase, type DatabaseHandle } from "./db/client.js";
import { clientErrorFormatter } from "./graphql/client-errors.js";
import { createContextFactory, type GraphQLContext } from "./graphql/context.js";
import { parseOptions } from "./graphql/limits.js";
import { earlyLimits, limitsPlugin } from "./graphql/http-limits.js";
import { buildSchema } from "./graphql/schema.js";
import { startGraphQLWs } from "./graphql/ws.js";
import { httpErrorHandler } from "./http/errors.js";
import { moduleLogger, setLogLevel } from "./logger.js";
import { DeliveryHub } from "./delivery/hub.js";
import { NotificationListener } from "./delivery/listener.js";
import { createMetrics } from "./delivery/metrics.js";
import { createRestRouter } from "./rest/router.js";
import { mountWebRoutes } from "./web/routes.js";

const log = moduleLogger("app");

export interface BrokerApp {
  /** Listens on the configured host and port (0 picks a free port). */
  start(): Promise<{ url: string; port: number; mintedAdminPak?: string }>;
  stop(): Promise<void>;
  readonly database: DatabaseHandle;
  readonly delivery: DeliveryHub;
  readonly listener: NotificationListener;
}

/** Builds the broker; importing this module binds nothing. */
export function createApp(config: BrokerConfig, databaseUrl: string): BrokerApp {
  setLogLevel(config.log.level);
  const database = connectDatabase(databaseUrl, config.database.poolSize);
  const { prisma } = database;
  let adminPakHash: string | undefined = config.broker.adminPakHash;
  const identities = createIdentityResolver(prisma, () => adminPakHash);
  const schema = buildSchema();
  const metrics = createMetrics();
  const listener = new NotificationListener(databaseUrl);
  listener.on("resync", () => {
    if (listener.reconnects > 0) metrics.listenerReconnects.inc();
  });
  const delivery = new DeliveryHub(prisma, listener, metrics);
  const httpServer = http.createServer();
  const app = express();
  const wss = new WebSocketServer({ server: httpServer, path: "/graphql", maxPayload: config.broker.bodyLimitBytes });
  const contexts = createContextFactory({ db: prisma, delivery, identities, limits: config.broker.input });
  // With introspection off, error messages must not suggest schema names either.
  const formatError = clientErrorFormatter(!config.broker.introspection);
  const wsServer = startGraphQLWs({ schema, wss, identities, contexts, config, delivery, formatError });
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    // main.ts owns signals; Apollo would otherwise stop itself and re-raise the signal.
    stopOnTerminationSignals: false,
    introspection: config.broker.introspection,
    parseOptions: parseOptions(config.broker),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // Apollo's landing page loads Sandbox from a CDN; browsers get the bundled explorer instead.
      ApolloServerPluginLandingPageDisabled(),
      limitsPlugin(config.broker, formatError),
      { async serverWillStart() { return { async drainServer() { await wsServer.dispose(); } }; } },
    ],
  });

  app.disable("x-powered-by");
  app.use(cors({ origin: config.cors.allowedOrigins.includes("*") ? true : config.cors.allowedOrigins }));
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    try {
      await database.pool.query("SELECT 1");
      if (!listener.connected) {
        res.status(503).json({ status: "unavailable", listener: "disconnected" });
        return;
      }
      res.json({ status: "ready" });
    } catch {
      res.status(503).json({ status: "unavailable", database: "unreachable" });
    }
  });

  mountWebRoutes(app);

  app.get("/metrics", async (_req, res) => {
    metrics.agents.set(delivery.connectedAgentCount);
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  return {
    database,
    delivery,
    listener,
    async start() {
      const admin = await bootstrapAdminPak(prisma, config.broker.adminPakHash);
      adminPakHash = admin.hash;
      await listener.start();
      await delivery.start();
      await apollo.start();
      // The REST router parses bodies itself, after it has authorized the caller.
      app.use("/api/v1", createRestRouter({ db: prisma, identities, delivery, bodyLimitBytes: config.broker.bodyLimitBytes, limits: config.broker.input }));
      app.use(
        "/graphql",
        express.json({ limit: config.broker.bodyLimitBytes }),
        earlyLimits(config.broker, formatError),
        expressMiddleware(apollo, { context: ({ req }) => contexts.forRequest(req.headers.authorization, req.get("idempotency-key")) }),
      );
      app.use(httpErrorHandler);
      httpServer.on("request", app);
      await new Promise<void>((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(config.broker.port, config.broker.host, () => resolve());
      });
      const { port } = httpServer.address() as AddressInfo;
      const host = config.broker.host === "0.0.0.0" ? "127.0.0.1" : config.broker.host;
      log.info({ port }, "broker listening");
      return { url: `http://${host}:${port}`, port, mintedAdminPak: admin.mintedPak };
    },
    async stop() {
      // Apollo's drain plugin stops accepting, lets in-flight requests finish, closes sockets.
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, config.broker.shutdownTimeoutMs).unref());
      delivery.stop();
      await Promise.race([apollo.stop(), timeout]);
      await listener.stop();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => (httpServer.listening ? httpServer.close(() => resolve()) : resolve()));
      await database.close();
      log.info("broker stopped");
    },
  };
}
