import { z } from "zod";
import type { KubeEnvironment } from "./kube/kubeconfig.ts";

const PREFIX = "BROKKR__AGENT__";

const seconds = (fallback: number) => z.coerce.number().positive().default(fallback);

const schema = z.object({
  BROKER_URL: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }),
  PAK: z.string().regex(/^brokkr_BR[A-Za-z0-9]+_[A-Za-z0-9]+$/, "must be a Brokkr PAK (brokkr_BR…_…)"),
  AGENT_NAME: z.string().min(1).optional(),
  CLUSTER_NAME: z.string().min(1).optional(),
  POLLING_INTERVAL: seconds(10),
  KUBECONFIG_PATH: z.string().min(1).optional(),
  // In-cluster: where the pod's service account files are (tests point it at a folder of their own).
  SERVICE_ACCOUNT_DIR: z.string().min(1).optional(),
  HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  TRANSPORT: z.enum(["websocket", "rest"]).default("websocket"),
  DEFAULT_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a valid namespace name")
    .default("default"),
  HEARTBEAT_INTERVAL: seconds(30),
  HEALTH_REPORT_INTERVAL: seconds(60),
  // Version stickers (agent/stickers): how often applied release objects are checked for drift.
  DRIFT_CHECK_INTERVAL: seconds(60),
  // Cluster telemetry (agent/telemetry): Kubernetes events and pod logs of the stacks, sent over the websocket.
  TELEMETRY__ENABLED: z.enum(["true", "false"]).default("true"),
  TELEMETRY__INTERVAL: seconds(5),
  TELEMETRY__LOG_LINES_PER_SECOND: z.coerce.number().positive().max(100_000).default(100),
  TELEMETRY__MAX_CONTAINERS: z.coerce.number().int().min(1).max(10_000).default(50),
  LOG__LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export interface AgentConfig {
  brokerUrl: string;
  pak: string;
  agentName?: string;
  clusterName?: string;
  pollingIntervalMs: number;
  kubeconfigPath?: string;
  /** Without kubeconfigPath: the standard Kubernetes variables that find the cluster. */
  kube?: KubeEnvironment;
  healthPort: number;
  transport: "websocket" | "rest";
  defaultNamespace: string;
  heartbeatIntervalMs: number;
  /** How often pod health per stack is checked and sent to the broker. */
  healthReportIntervalMs: number;
  /** How often the resources of release objects and their version stickers are checked for drift. */
  driftCheckIntervalMs: number;
  logLevel: string;
  telemetry: TelemetryConfig;
}

export interface TelemetryConfig {
  enabled: boolean;
  intervalMs: number;
  /** Per container: lines past this rate are dropped and counted as a rate_limit gap. */
  logLinesPerSecond: number;
  /** Containers whose logs one tick reads, at most. */
  maxContainers: number;
}

export type ConfigResult = { ok: true; config: AgentConfig } | { ok: false; problems: string[] };

/** Reads the BROKKR__AGENT__ variables; a pure function so tests can pass any environment. */
export function loadAgentConfig(env: Record<string, string | undefined>): ConfigResult {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[PREFIX + key];
    if (value !== undefined && value !== "") input[key] = value;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = PREFIX + String(issue.path[0] ?? "");
      return issue.code === "invalid_type" && input[String(issue.path[0])] === undefined
        ? `${name} is required`
        : `${name} ${issue.message}`;
    });
    return { ok: false, problems };
  }
  const c = parsed.data;
  const config: AgentConfig = {
    brokerUrl: c.BROKER_URL.replace(/\/+$/, ""),
    pak: c.PAK,
    agentName: c.AGENT_NAME,
    clusterName: c.CLUSTER_NAME,
    pollingIntervalMs: c.POLLING_INTERVAL * 1000,
    kubeconfigPath: c.KUBECONFIG_PATH,
    kube: {
      kubeconfig: env.KUBECONFIG || undefined,
      home: env.HOME || undefined,
      serviceHost: env.KUBERNETES_SERVICE_HOST || undefined,
      servicePort: env.KUBERNETES_SERVICE_PORT || undefined,
      serviceAccountDir: c.SERVICE_ACCOUNT_DIR,
    },
    healthPort: c.HEALTH_PORT,
    transport: c.TRANSPORT,
    defaultNamespace: c.DEFAULT_NAMESPACE,
    heartbeatIntervalMs: c.HEARTBEAT_INTERVAL * 1000,
    healthReportIntervalMs: c.HEALTH_REPORT_INTERVAL * 1000,
    driftCheckIntervalMs: c.DRIFT_CHECK_INTERVAL * 1000,
    logLevel: c.LOG__LEVEL,
    telemetry: {
      enabled: c.TELEMETRY__ENABLED === "true",
      intervalMs: c.TELEMETRY__INTERVAL * 1000,
      logLinesPerSecond: c.TELEMETRY__LOG_LINES_PER_SECOND,
      maxContainers: c.TELEMETRY__MAX_CONTAINERS,
    },
  };
  return { ok: true, config: Object.freeze(config) };
}

/** The agent's only read of process.env. */
export function agentConfigFromProcess(): ConfigResult {
  return loadAgentConfig(process.env);
}
