import type { KubeConfig } from "@kubernetes/client-node";
import { Delivery } from "./broker/delivery.ts";
import { BrokerHttpError, waitForBrokerReady } from "./broker/http.ts";
import { RestTransport } from "./broker/rest-transport.ts";
import type { BrokerTransport, DeploymentEvent } from "./broker/types.ts";
import { WebSocketTransport } from "./broker/websocket-transport.ts";
import { jitteredDelay, sleep } from "./broker/backoff.ts";
import type { AgentConfig } from "./config.ts";
import { deploymentHealthEntries, sendDeploymentHealth } from "./health-report.ts";
import { type HealthServer, startHealthServer } from "./health-server.ts";
import { KubeApplier } from "./kube/applier.ts";
import { type KubeProbe, createKubeClients, loadKubeConfig, probeKube } from "./kube/client.ts";
import { collectStackHealth } from "./kube/stack-health.ts";
import { type Logger, createLogger } from "./logger.ts";
import { type AgentMetrics, createAgentMetrics } from "./metrics.ts";
import { Reconciler } from "./reconciler.ts";

export interface AgentDeps {
  logger?: Logger;
  /** Overrides BROKKR__AGENT__KUBECONFIG_PATH and the in-cluster lookup. */
  kubeConfig?: KubeConfig;
  transports?: { websocket?: BrokerTransport; rest?: BrokerTransport };
  /** Websocket sessions failing in a row before falling back to REST (default 5). */
  websocketFailuresBeforeRest?: number;
  restDwellMs?: number;
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

export interface Agent {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): AgentStatus;
  /** The health server's port once started (useful with HEALTH_PORT 0). */
  healthPort(): number | undefined;
  /** Checks pod health per stack and sends it to the broker now (it also runs on an interval). */
  reportHealth(): Promise<void>;
  readonly metrics: AgentMetrics;
}

/** Builds the agent; nothing listens or connects until `start()`. */
export function createAgent(config: AgentConfig, deps: AgentDeps = {}): Agent {
  const logger = deps.logger ?? createLogger(config.logLevel);
  const log = logger.child({ module: "app" });
  const metrics = createAgentMetrics({ defaultMetrics: true });
  const kube = createKubeClients(deps.kubeConfig ?? loadKubeConfig(config.kubeconfigPath));
  const http = { baseUrl: config.brokerUrl, pak: config.pak };
  const delivery = new Delivery({
    preferred: config.transport,
    websocket: deps.transports?.websocket ?? new WebSocketTransport({ ...http, logger: logger.child({ module: "websocket" }), maxConsecutiveFailures: deps.websocketFailuresBeforeRest ?? 5 }),
    rest: deps.transports?.rest ?? new RestTransport({ ...http, logger: logger.child({ module: "rest" }), pollingIntervalMs: config.pollingIntervalMs }),
    restDwellMs: deps.restDwellMs,
    logger: logger.child({ module: "delivery" }),
    onTransportChange: (name) => log.info({ transport: name }, "switched broker transport"),
  });
  const stopping = new AbortController();
  const timers: NodeJS.Timeout[] = [];
  let agentId: string | null = null;
  let connection: AgentStatus["connection"] = "starting";
  let probe: KubeProbe = { reachable: false, latencyMs: null };
  let reconciler: Reconciler | undefined;
  let running: Promise<void> | undefined;
  let health: HealthServer | undefined;

  const status = (): AgentStatus => {
    const r = reconciler?.status();
    return {
      agentId,
      connection,
      transport: delivery.active,
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
      await delivery.heartbeat({ k8sReachable: probe.reachable, k8sApiLatencyMs: probe.latencyMs });
    } catch (err) {
      log.warn({ err }, "heartbeat failed");
    }
  };

  const reportHealth = async () => {
    if (!reconciler || !agentId) return;
    const checkedAt = new Date();
    const stacks = await collectStackHealth(kube.objects);
    metrics.unhealthyPods.reset();
    for (const stack of stacks) {
      for (const state of ["degraded", "failing"] as const) {
        metrics.unhealthyPods.set({ stack: stack.stackId, state }, stack.pods.filter((p) => p.state === state).length);
      }
      if (stack.state !== "healthy") log.warn({ stackId: stack.stackId, state: stack.state, pods: stack.pods.filter((p) => p.state !== "healthy") }, "stack unhealthy");
    }
    const entries = deploymentHealthEntries(stacks, reconciler.appliedObjects(), checkedAt);
    if (entries.length > 0) await sendDeploymentHealth(http, agentId, entries);
  };

  /** Before new events on every (re)connect: untargets what vanished from the target state. */
  const resync = async (r: Reconciler, applier: KubeApplier, targetState: DeploymentEvent[]) => {
    let owned: string[] = [];
    try {
      owned = await applier.ownedStackIds();
    } catch (err) {
      log.warn({ err }, "listing owned resources failed; reconciling against what this process applied");
    }
    const untargeted = r.resync(targetState, owned);
    log.info({ targeted: targetState.length, untargeted }, "reconciled the target state");
  };

  const verify = async (): Promise<string> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await delivery.verify();
      } catch (err) {
        const fatal = !(err instanceof BrokerHttpError) || [401, 403].includes(err.status) || err.code === "UNAUTHENTICATED";
        if (fatal || stopping.signal.aborted) throw err;
        log.warn({ err: err.message, attempt }, "verifying the PAK failed; retrying");
        await sleep(jitteredDelay(attempt, 500, 30_000), stopping.signal);
      }
    }
  };

  return {
    metrics,
    status,
    healthPort: () => health?.port,
    reportHealth,
    async start() {
      health = await startHealthServer(config.healthPort, {
        ready: () => connection === "connected" && probe.reachable,
        status,
        registry: metrics.registry,
      });
      log.info({ port: health.port, transport: config.transport, broker: config.brokerUrl }, "agent starting");
      probe = await probeKube(kube.version);
      await waitForBrokerReady(config.brokerUrl, log, stopping.signal);
      agentId = await verify();
      if (stopping.signal.aborted) return;
      log.info({ agentId }, "PAK verified");
      const applier = new KubeApplier({ objects: kube.objects, agentId, defaultNamespace: config.defaultNamespace, logger: logger.child({ module: "kube" }) });
      reconciler = new Reconciler({ applier, reporter: delivery, logger: logger.child({ module: "reconciler" }), metrics, retryBaseMs: deps.applyRetryBaseMs });
      const r = reconciler;
      running = delivery
        .run(
          {
            cursor: () => r.cursor(),
            resync: (targetState) => resync(r, applier, targetState),
            onEvent: (event) => r.handle(event),
            onConnected: () => {
              if (connection === "disconnected") metrics.reconnects.inc();
              connection = "connected";
            },
            onDisconnected: () => void (connection = "disconnected"),
          },
          stopping.signal,
        )
        .catch((err: unknown) => log.error({ err }, "delivery stopped"));
      timers.push(setInterval(() => void heartbeat(), config.heartbeatIntervalMs));
      const healthTick = () => reportHealth().catch((err: unknown) => log.warn({ err }, "reporting deployment health failed"));
      timers.push(setInterval(() => void healthTick(), config.healthReportIntervalMs));
      void heartbeat();
    },
    async stop() {
      stopping.abort();
      for (const t of timers) clearInterval(t);
      await running;
      await reconciler?.stop();
      connection = "stopped";
      await health?.close();
      log.info("agent stopped");
    },
  };
}
