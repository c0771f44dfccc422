import http from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { expressMiddleware } from "@as-integrations/express5";
import cors from "cors";
import express from "express";
import { WebSocketServer } from "ws";
import { auditMutations } from "./audit/capture/graphql.js";
import { auditAuthFailures } from "./audit/capture/identity.js";
import { originOf } from "./audit/capture/origin.js";
import { registerAuditTasks } from "./audit/retention.js";
import { createAuditLog } from "./audit/setup.js";
import type { AuditWriter } from "./audit/writer.js";
import { bootstrapAdminPak } from "./auth/admin-pak.js";
import { AgentSocketServer } from "./brokkr-ws/server.js";
import { createIdentityResolver, type IdentityResolver } from "./auth/identity.js";
import type { BrokerConfig } from "./config.js";
import { connectDatabase, type DatabaseHandle } from "./db/client.js";
import { schemaScopedUrl } from "./db/schema-scope.js";
import { clientErrorFormatter } from "./graphql/client-errors.js";
import { createContextFactory, type GraphQLContext } from "./graphql/context.js";
import { parseOptions } from "./graphql/limits.js";
import { earlyLimits, limitsPlugin } from "./graphql/http-limits.js";
import { faultStatusPlugin } from "./graphql/format-error.js";
import { BODY_ERROR, createFastGraphQL } from "./graphql/fast-http.js";
import { buildSchema } from "./graphql/schema.js";
import { UpgradeGate } from "./http/upgrade-gate.js";
import { LISTEN_BACKLOG } from "./run-flags.js";
import { startGraphQLWs } from "./graphql/ws.js";
import { answerClientError } from "./http/client-error.js";
import { httpErrorHandler } from "./http/errors.js";
import { moduleLogger, setLogLevel } from "./logger.js";
import { DeliveryHub } from "./delivery/hub.js";
import { NotificationListener } from "./delivery/listener.js";
import { createMetrics } from "./delivery/metrics.js";
import { createRestRouter } from "./rest/router.js";
import { mountWebRoutes } from "./web/routes.js";
import { AgentPresence } from "./fleet/presence.js";
import { FleetFeed } from "./fleet/feed.js";
import { FleetLiveServer } from "./fleet/live-ws.js";
import { createFaultRecorder, describeStartFailure, type FaultRecorder } from "./faults.js";
import { Scheduler } from "./scheduler/scheduler.js";
import { LiveConfig } from "./live-config/live-config.js";
import { registerDiagnostics } from "./diagnostics/tasks.js";
import type { DiagnosticFeed } from "./diagnostics/feed.js";
import { createTelemetry, type Telemetry } from "./telemetry/wiring.js";
import type { WorkOrderFeed } from "./work-orders/feed.js";
import { registerWorkOrders } from "./work-orders/tasks.js";
import { createWebhooks, type Webhooks } from "./webhooks/runtime.js";
import { registerRollouts, type Rollouts } from "./rollouts/runner.js";
import { activeFreezeWindow } from "./environments/freeze-windows.js";
import { createEvidenceKeys, type EvidenceKeys } from "./evidence/signing.js";
import { PromotionFeed } from "./promotions/feed.js";

const log = moduleLogger("app");
/** /readyz answers within this budget even when PostgreSQL hangs. */
const READY_CHECK_BUDGET_MS = 1500;

export interface BrokerApp {
  /** Listens on the configured host and port (0 picks a free port). */
  start(): Promise<{ url: string; port: number; mintedAdminPak?: string }>;
  stop(): Promise<void>;
  readonly database: DatabaseHandle;
  readonly delivery: DeliveryHub;
  readonly listener: NotificationListener;
  /** Who a PAK belongs to, with the verified-key cache. */
  readonly identities: IdentityResolver;
  /** Brokkr's agent websocket, /internal/ws/agent. */
  readonly agentSockets: AgentSocketServer;
  /** Logs and counts recovered database and network errors (brokkr_recovered_errors_total). */
  readonly faults: FaultRecorder;
  /** The broker's periodic work; domains register their tasks in createApp. */
  readonly scheduler: Scheduler;
  /** The configuration as it is now: hot-reloadable settings change on reload. */
  readonly liveConfig: LiveConfig;
  /** Pushes diagnostic requests to agents (src/diagnostics). */
  readonly diagnostics: DiagnosticFeed;
  /** Cluster telemetry: its live feed and Brokkr's /api/v1/stacks/{id}/live tail. */
  readonly telemetry: Telemetry;
  /** Work orders pushed to agentWorkOrders subscriptions. */
  readonly workOrders: WorkOrderFeed;
  /** Webhook subscriptions, deliveries and their live outcomes (src/webhooks). */
  readonly webhooks: Webhooks;
  /** The audit log's writer: every API layer records into it; stop() flushes it. */
  readonly audit: AuditWriter;
  /** The release rollout runner (src/rollouts), scheduler task "rollouts". */
  readonly rollouts: Rollouts;
  /** The evidence signing key (src/evidence), shared with the webhook keyring. */
  readonly evidence: EvidenceKeys;
  /** promotionProgress streams on this broker (src/promotions). */
  readonly promotions: PromotionFeed;
  /** POST /graphql requests served without Express and Apollo, and those handed on once their body was read (src/graphql/fast-http.ts). */
  readonly graphqlFastPath: { readonly served: number; readonly declined: number };
}

/** Builds the broker; importing this module binds nothing. */
export function createApp(config: BrokerConfig, serverUrl: string): BrokerApp {
  const databaseUrl = schemaScopedUrl(serverUrl, config.database.schema);
  setLogLevel(config.log.level);
  const liveConfig = new LiveConfig(config);
  liveConfig.on("change", (current) => setLogLevel(current.log.level));
  const metrics = createMetrics();
  const faults = createFaultRecorder(metrics.registry);
  const { statementTimeoutMs, connectTimeoutMs } = config.database;
  const database = connectDatabase(databaseUrl, config.database.poolSize, {
    statementTimeoutMs,
    connectTimeoutMs,
    schema: config.database.schema,
    onConnectionError: (err) => faults.record("pool", err),
  });
  const { prisma } = database;
  let adminPakHash: string | undefined = config.broker.adminPakHash;
  const auditConfig = config.broker.audit;
  const auditLog = createAuditLog(
    databaseUrl,
    { statementTimeoutMs, connectTimeoutMs, onConnectionError: (err) => faults.record("pool", err) },
    metrics.registry,
    auditConfig,
  );
  const audit = auditLog.writer;
  // Mutations (HTTP and graphql-ws) and auth failures are recorded here, for every feature.
  const identities = auditAuthFailures(
    createIdentityResolver(prisma, () => adminPakHash),
    audit,
  );
  const schema = auditMutations(buildSchema(), audit);
  // One cap on websocket upgrades awaiting authentication, for every websocket path.
  const upgrades = new UpgradeGate({
    maxUnauthenticated: config.broker.maxUnauthenticatedSockets,
    maxWaiting: config.broker.maxWaitingUpgrades,
    maxWaitMs: config.broker.upgradeWaitMs,
    registry: metrics.registry,
  });
  const listener = new NotificationListener(databaseUrl, { connectTimeoutMs, onFault: (err) => faults.record("listener", err) });
  // Verified keys are forgotten on every revocation a broker commits, and all of them after a
  // reconnect (notifications were lost meanwhile): see auth/identity-cache.ts.
  listener.on("notification", (channel, payload) => {
    if (channel === "brokkr_identities") identities.cache.forgetPayload(payload);
  });
  listener.on("resync", () => {
    identities.cache.clear();
    if (listener.reconnects > 0) metrics.listenerReconnects.inc();
  });
  const delivery = new DeliveryHub(prisma, listener, metrics, undefined, config.broker.maxSubscriptionsPerIdentity);
  const presence = new AgentPresence(prisma, (err) => faults.record("presence", err));
  delivery.presence = presence;
  // The live fleet (fleetChanges, /api/v1/fleet/live): one feed per broker, fed by notifications.
  const fleetFeed = new FleetFeed(prisma, undefined, () => liveConfig.current.fleet.overdueSeconds);
  listener.on("notification", (channel, payload) => fleetFeed.notified(channel, payload));
  delivery.fleet = fleetFeed;
  const scheduler = new Scheduler(metrics.registry, (err) => faults.record("scheduler", err));
  // Task settings are read from the live configuration at each run (src/live-config).
  const live = () => liveConfig.current.broker;
  const diagnostics = registerDiagnostics({
    scheduler,
    db: prisma,
    listener,
    cleanupIntervalMs: () => live().diagnostics.cleanupIntervalMs,
  });
  const telemetry = createTelemetry({
    db: prisma,
    listener,
    scheduler,
    identities,
    delivery,
    limits: config.broker.telemetry,
    maxBufferBytes: config.broker.maxSubscriberBufferBytes,
    gate: upgrades,
    onFault: (err) => faults.record("websocket", err),
  });
  const workOrders = registerWorkOrders({
    db: prisma,
    listener,
    scheduler,
    maintenanceIntervalSeconds: () => live().workOrders.maintenanceIntervalSeconds,
  });
  const webhooks = createWebhooks(prisma, () => live().webhooks, scheduler, listener);
  const evidence = createEvidenceKeys(prisma, config.releases.signingKey, webhooks.cipher);
  const promotions = new PromotionFeed(prisma, listener);
  registerAuditTasks(scheduler, auditLog.pool, () => live().audit.retentionDays);
  const rollouts = registerRollouts({
    scheduler,
    db: prisma,
    committed: delivery,
    limits: config.broker.input,
    signer: () => evidence.signer(),
    settings: () => liveConfig.current.rollouts,
    activeFreezeWindow,
  });
  const httpServer = http.createServer();
  httpServer.on("clientError", answerClientError);
  const app = express();
  // noServer: attached to the HTTP server, ws would re-emit its errors (a taken port at start)
  // to graphql-ws, which prints a stack trace and closes every client; upgrades come from here.
  const wss = new WebSocketServer({ noServer: true, path: "/graphql", maxPayload: config.broker.bodyLimitBytes });
  const recordSocketFault = (err: Error) => faults.record("websocket", err);
  wss.on("error", recordSocketFault);
  // graphql-ws listens for a socket's first 'error' only (once); a second would end the process.
  // One listener function for every socket, not a closure each.
  wss.on("connection", (socket) => socket.on("error", recordSocketFault));
  metrics.countGraphqlSockets(() => wss.clients.size);
  const agentSockets = new AgentSocketServer({
    db: prisma,
    identities,
    delivery,
    registry: metrics.registry,
    limits: config.broker.input,
    telemetry: config.broker.telemetry,
    ...config.broker.agentWs,
    maxBufferBytes: config.broker.maxSubscriberBufferBytes,
    gate: upgrades,
    onFault: (err) => faults.record("websocket", err),
    audit,
    trustForwardedFor: auditConfig.trustForwardedFor,
  });
  const fleetLive = new FleetLiveServer({
    identities,
    feed: fleetFeed,
    connections: delivery.connections,
    maxBufferBytes: config.broker.maxSubscriberBufferBytes,
    gate: upgrades,
    onFault: (err) => faults.record("websocket", err),
  });
  httpServer.on("upgrade", (req, socket, head) => {
    if (agentSockets.handles(req)) return agentSockets.upgrade(req, socket, head);
    if (telemetry.live.handles(req)) return telemetry.live.upgrade(req, socket, head);
    if (fleetLive.handles(req)) return fleetLive.upgrade(req, socket, head);
    if (!wss.shouldHandle(req)) return void socket.destroy();
    wsServer.upgrade(req, socket, head);
  });
  const contexts = createContextFactory({
    db: prisma,
    delivery,
    workOrders,
    identities,
    limits: config.broker.input,
    liveConfig,
    diagnostics,
    telemetry,
    webhooks,
    evidence,
    promotions,
  });
  // With introspection off, error messages must not suggest schema names either.
  const formatError = clientErrorFormatter(!config.broker.introspection);
  const wsServer = startGraphQLWs({ schema, wss, identities, contexts, config, delivery, formatError, gate: upgrades });
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    // main.ts owns signals; Apollo would otherwise stop itself and re-raise the signal.
    stopOnTerminationSignals: false,
    introspection: config.broker.introspection,
    // Apollo's CSRF rule: a GET or simple POST must carry a header a browser cannot send cross-site
    // without a CORS preflight. The API takes no cookies, only this Authorization header, which is
    // such a header: urql's GET queries with a PAK pass; a bare cross-site GET still does not.
    csrfPrevention: { requestHeaders: ["x-apollo-operation-name", "apollo-require-preflight", "authorization"] },
    parseOptions: parseOptions(config.broker),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // Apollo's landing page loads Sandbox from a CDN; browsers get the bundled explorer instead.
      ApolloServerPluginLandingPageDisabled(),
      limitsPlugin(config.broker, formatError),
      faultStatusPlugin,
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await wsServer.dispose();
            },
          };
        },
      },
    ],
  });

  app.disable("x-powered-by");
  // Options per request: CORS settings change on a configuration reload.
  const corsHandler = cors((_req, callback) => callback(null, corsOptions(liveConfig.current.cors)));
  app.use(corsHandler);
  // POST /graphql bodies the fast path read but could not parse: body-parser's own refusal.
  app.use((req, _res, next) => next((req as { [BODY_ERROR]?: unknown })[BODY_ERROR]));
  const fastGraphQL = createFastGraphQL({
    schema,
    config: config.broker,
    contexts,
    identities,
    formatError,
    cors: corsHandler,
    etag: app.get("etag fn"),
  });
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    if (!(await databaseAnswers(database, READY_CHECK_BUDGET_MS))) {
      res.status(503).json({ status: "unavailable", database: "unreachable" });
    } else if (!listener.connected) {
      res.status(503).json({ status: "unavailable", listener: "disconnected" });
    } else {
      res.json({ status: "ready" });
    }
  });

  mountWebRoutes(app);

  app.get("/metrics", async (_req, res) => {
    metrics.agents.set(delivery.connectedAgentCount);
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  let apolloStarted = false;
  const broker: BrokerApp = {
    database,
    delivery,
    listener,
    identities,
    faults,
    agentSockets,
    scheduler,
    liveConfig,
    diagnostics,
    telemetry,
    workOrders,
    webhooks,
    audit,
    rollouts,
    evidence,
    promotions,
    graphqlFastPath: fastGraphQL.stats,
    async start() {
      const admin = await bootstrapAdminPak(prisma, config.broker.adminPakHash);
      adminPakHash = admin.hash;
      await listener.start();
      await delivery.start();
      await presence.start();
      await apollo.start();
      apolloStarted = true;
      // The REST router parses bodies itself, after it has authorized the caller.
      app.use(
        "/api/v1",
        createRestRouter({
          db: prisma,
          identities,
          delivery,
          bodyLimitBytes: config.broker.bodyLimitBytes,
          limits: config.broker.input,
          agentSockets,
          liveConfig,
          telemetry: config.broker.telemetry,
          webhooks,
          audit,
          trustForwardedFor: auditConfig.trustForwardedFor,
          liveSubscribers: () => fleetLive.size,
        }),
      );
      app.use(
        "/graphql",
        express.json({ limit: config.broker.bodyLimitBytes }),
        earlyLimits(config.broker, formatError),
        expressMiddleware(apollo, {
          context: ({ req }) =>
            contexts.forRequest(
              req.headers.authorization,
              req.get("idempotency-key"),
              originOf(req, "graphql", auditConfig.trustForwardedFor),
            ),
        }),
      );
      app.use(httpErrorHandler);
      httpServer.on("request", (req, res) => fastGraphQL.handle(req, res, () => app(req, res)));
      await new Promise<void>((resolve, reject) => {
        httpServer.once("error", reject);
        // Node's default accept queue (511) overflowed when 5,000 agents reconnected at once
        // (ECONNRESET); the kernel caps it at net.core.somaxconn anyway.
        httpServer.listen({ port: config.broker.port, host: config.broker.host, backlog: LISTEN_BACKLOG }, () => {
          httpServer.off("error", reject);
          httpServer.on("error", (err) => faults.record("http", err));
          resolve();
        });
      });
      const { port } = httpServer.address() as AddressInfo;
      const host = config.broker.host === "0.0.0.0" ? "127.0.0.1" : config.broker.host;
      scheduler.start();
      liveConfig.watch();
      log.info({ port }, "broker listening");
      return { url: `http://${host}:${port}`, port, mintedAdminPak: admin.mintedPak };
    },
    async stop() {
      // Apollo's drain plugin stops accepting, lets in-flight requests finish, closes sockets.
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, config.broker.shutdownTimeoutMs).unref());
      liveConfig.stop();
      upgrades.stop();
      agentSockets.stop();
      telemetry.live.stop();
      fleetLive.stop();
      fleetFeed.stop();
      await scheduler.stop();
      await rollouts.stop().catch((err) => log.warn({ err }, "releasing rollout leases"));
      delivery.stop();
      diagnostics.stop();
      workOrders.stop();
      fastGraphQL.stop();
      if (apolloStarted) await Promise.race([apollo.stop(), timeout]);
      await listener.stop();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => (httpServer.listening ? httpServer.close(() => resolve()) : resolve()));
      await presence.stop();
      // Requests have finished: what they recorded is written before the pool closes.
      await auditLog.stop(config.broker.shutdownTimeoutMs);
      await database.close();
      log.info("broker stopped");
    },
  };
  return withCleanFailedStart(broker, config);
}

function corsOptions(settings: BrokerConfig["cors"]): cors.CorsOptions {
  return {
    origin: settings.allowedOrigins.includes("*") ? true : settings.allowedOrigins,
    methods: settings.allowedMethods,
    // Unset: the preflight's requested headers are reflected (the cors package's default).
    allowedHeaders: settings.allowedHeaders.length > 0 ? settings.allowedHeaders : undefined,
    maxAge: settings.maxAgeSeconds,
  };
}

/** A failed start releases what it took (pool, LISTEN connection, timers) and says why in one line. */
function withCleanFailedStart(broker: BrokerApp, config: BrokerConfig): BrokerApp {
  const start = broker.start;
  return Object.assign(broker, {
    async start() {
      try {
        return await start();
      } catch (err) {
        await broker.stop().catch((stopErr) => log.warn({ err: stopErr }, "cleaning up after a failed start"));
        throw describeStartFailure(err, config.broker);
      }
    },
  });
}

/** SELECT 1 through the pool, given up on after `budgetMs` (a stalled server never answers). */
async function databaseAnswers(database: DatabaseHandle, budgetMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), budgetMs)));
  try {
    return await Promise.race([
      database.pool.query("SELECT 1").then(
        () => true,
        () => false,
      ),
      budget,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
