import { BrokerLink } from "./broker/broker-link.ts";
import { waitForBrokerReady } from "./broker/http.ts";
import { RestTransport } from "./broker/rest-transport.ts";
import type { BrokerTransport } from "./broker/types.ts";
import { WebSocketTransport } from "./broker/websocket-transport.ts";
import type { AgentConfig } from "./config.ts";
import { type DiagnosticsRunner, startDiagnostics } from "./diagnostics/index.ts";
import { reportDeploymentHealth } from "./health-report.ts";
import { type HealthServer, startHealthServer } from "./health-server.ts";
import { KubeApplier } from "./kube/applier.ts";
import { type KubeConfig, type KubeProbe, createKubeClients, loadKubeConfig, probeKube } from "./kube/client.ts";
import { type Logger, createLogger } from "./logger.ts";
import { type AgentMetrics, createAgentMetrics } from "./metrics.ts";
import { Reconciler } from "./reconciler.ts";
import { StickerKeeper } from "./stickers/index.ts";
import { type TelemetryRuntime, startTelemetry } from "./telemetry/index.ts";
import { runWorkOrders } from "./work-orders/index.ts";
import { relayWebhooks, WEBHOOK_POLL_MS } from "./webhooks/relay.ts";

export interface AgentRuntimeDeps {
  logger?: Logger;
  /** Overrides BROKKR__AGENT__KUBECONFIG_PATH and the in-cluster lookup. */
  kubeConfig?: KubeConfig;
  transports?: { websocket?: BrokerTransport; rest?: BrokerTransport };
  /** Websocket sessions failing in a row before falling back to REST (default 5). */
  websocketFailuresBeforeRest?: number;
  restDwellMs?: number;
  /** How often webhook deliveries routed to this agent are polled (agent/webhooks). */
  webhookPollMs?: number;
  /** Base of the backoff between retries of a failed object (default 1 s). */
  applyRetryBaseMs?: number;
}

export interface AgentStatus {
  agentId: string | null;
  connection: "starting" | "connected" | "disconnected" | "stopped";
  transport: "websocket" | "rest";
  cursor: string;
  lastApplyAt: string | null;
  lastError: string | null;
  failingStacks: string[];
  kubernetes: KubeProbe;
}

/** The running agent process (not the `agents` row, nor the test factory of that name). */
export interface AgentRuntime {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): AgentStatus;
  /** The health server's port once started (useful with HEALTH_PORT 0). */
  healthPort(): number | undefined;
  /** Checks pod health per stack and sends it to the broker now (it also runs on an interval). */
  reportHealth(): Promise<void>;
  /** Collects cluster telemetry and sends it over the websocket now (it also runs on an interval). */
  collectTelemetry(): Promise<void>;
  readonly metrics: AgentMetrics;
}

/** Builds the agent runtime; nothing listens or connects until `start()`. */
export function createAgentRuntime(config: AgentConfig, deps: AgentRuntimeDeps = {}): AgentRuntime {
  const logger = deps.logger ?? createLogger(config.logLevel);
  const log = logger.child({ module: "app" });
  const metrics = createAgentMetrics({ defaultMetrics: true });
  const kube = createKubeClients(deps.kubeConfig ?? loadKubeConfig(config.kubeconfigPath, config.kube));
  const link = createBrokerLink(config, deps, logger);
  const stopping = new AbortController();
  const timers: NodeJS.Timeout[] = [];
  let agentId: string | null = null;
  let connection: AgentStatus["connection"] = "starting";
  let probe: KubeProbe = { reachable: false, latencyMs: null };
  let reconciler: Reconciler | undefined;
  let running: Promise<void> | undefined;
  let workOrders: Promise<void> | undefined;
  let health: HealthServer | undefined;
  let diagnostics: DiagnosticsRunner | undefined;
  let telemetry: TelemetryRuntime | undefined;
  let stickers: StickerKeeper | undefined;

  const status = (): AgentStatus => {
    const r = reconciler?.status();
    return {
      agentId,
      connection,
      transport: link.active,
      cursor: r?.cursor ?? "0",
      lastApplyAt: r?.lastApplyAt ?? null,
      lastError: r?.lastError ?? null,
      failingStacks: r?.failingStacks ?? [],
      kubernetes: probe,
    };
  };

  const heartbeat = async () => {
    probe = await probeKube(kube.version);
    try {
      await link.heartbeat({ k8sReachable: probe.reachable, k8sApiLatencyMs: probe.latencyMs });
    } catch (err) {
      log.warn({ err }, "heartbeat failed");
    }
  };

  const reportHealth = async () => {
    if (!reconciler || !agentId) return;
    await reportDeploymentHealth({ objects: kube.objects, broker: link, metrics, logger: log }, reconciler.appliedObjects());
  };

  /** Hands what the broker sends to the reconciler, and tracks the connection for /readyz. */
  const receive = (r: Reconciler) =>
    link.run(
      {
        cursor: () => r.cursor(),
        onReconnectTargetState: async (targetState) => void (await r.reconcileOnReconnect(targetState)),
        onPolledTargetState: (targetState) => void r.reconcileTargetState(targetState),
        onEvent: (event) => r.handle(event),
        onConnected: () => {
          if (connection === "disconnected") metrics.reconnects.inc();
          connection = "connected";
        },
        onDisconnected: () => void (connection = "disconnected"),
      },
      stopping.signal,
    );

  return {
    metrics,
    status,
    healthPort: () => health?.port,
    reportHealth,
    collectTelemetry: async () => telemetry?.tick(),
    async start() {
      health = await startHealthServer(config.healthPort, {
        ready: () => connection === "connected" && probe.reachable,
        status,
        registry: metrics.registry,
      });
      log.info({ port: health.port, transport: config.transport, broker: config.brokerUrl }, "agent starting");
      probe = await probeKube(kube.version);
      await waitForBrokerReady(config.brokerUrl, log, stopping.signal);
      agentId = await link.verify(stopping.signal);
      if (stopping.signal.aborted) return;
      log.info({ agentId }, "PAK verified");
      const applier = new KubeApplier({
        objects: kube.objects,
        agentId,
        defaultNamespace: config.defaultNamespace,
        logger: logger.child({ module: "kube" }),
      });
      const http = { baseUrl: config.brokerUrl, pak: config.pak };
      stickers = new StickerKeeper({
        ...kube,
        applier,
        http,
        agentId,
        logger: logger.child({ module: "stickers" }),
        driftCheckIntervalMs: config.driftCheckIntervalMs,
      });
      reconciler = new Reconciler({
        onApplied: stickers.onApplied,
        onPending: stickers.onPending,
        applier,
        reporter: link,
        logger: logger.child({ module: "reconciler" }),
        metrics,
        retryBaseMs: deps.applyRetryBaseMs,
      });
      stickers.start();
      running = receive(reconciler).catch((err: unknown) => log.error({ err }, "broker link stopped"));
      diagnostics = startDiagnostics({
        http: { baseUrl: config.brokerUrl, pak: config.pak },
        agentId,
        kube,
        logger,
        pollIntervalMs: config.pollingIntervalMs,
        push: config.transport === "websocket",
      });
      workOrders = runWorkOrders({
        http: { baseUrl: config.brokerUrl, pak: config.pak },
        agentId,
        applier,
        logger: logger.child({ module: "work-orders" }),
        pollingIntervalMs: config.pollingIntervalMs,
        push: config.transport === "websocket",
        signal: stopping.signal,
      });
      timers.push(setInterval(() => void heartbeat(), config.heartbeatIntervalMs));
      const healthTick = () => reportHealth().catch((err: unknown) => log.warn({ err }, "reporting deployment health failed"));
      timers.push(setInterval(() => void healthTick(), config.healthReportIntervalMs));
      const relay = () =>
        relayWebhooks({ baseUrl: config.brokerUrl, pak: config.pak }, String(agentId), log).catch((err: unknown) =>
          log.warn({ err }, "relaying webhooks failed"),
        );
      timers.push(setInterval(() => void relay(), deps.webhookPollMs ?? WEBHOOK_POLL_MS));
      void heartbeat();
      const r = reconciler;
      telemetry = startTelemetry(config.telemetry, {
        core: kube.core,
        objects: kube.objects,
        sink: link,
        logger,
        stacks: () => new Set([...r.appliedObjects().keys(), ...r.status().failingStacks]),
        connected: () => connection === "connected" && link.active === "websocket",
      });
    },
    async stop() {
      stopping.abort();
      for (const t of timers) clearInterval(t);
      telemetry?.stop();
      await running;
      await diagnostics?.stop();
      await workOrders;
      await reconciler?.stop();
      await stickers?.stop();
      connection = "stopped";
      await health?.close();
      log.info("agent stopped");
    },
  };
}

function createBrokerLink(config: AgentConfig, deps: AgentRuntimeDeps, logger: Logger): BrokerLink {
  const http = { baseUrl: config.brokerUrl, pak: config.pak };
  const log = logger.child({ module: "broker-link" });
  return new BrokerLink({
    preferred: config.transport,
    websocket:
      deps.transports?.websocket ??
      new WebSocketTransport({
        ...http,
        logger: logger.child({ module: "websocket" }),
        maxConsecutiveFailures: deps.websocketFailuresBeforeRest ?? 5,
      }),
    rest:
      deps.transports?.rest ??
      new RestTransport({ ...http, logger: logger.child({ module: "rest" }), pollingIntervalMs: config.pollingIntervalMs }),
    restDwellMs: deps.restDwellMs,
    logger: log,
    onTransportChange: (name) => log.info({ transport: name }, "switched broker transport"),
  });
}
