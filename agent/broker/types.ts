import type {
  AgentDeploymentsSubscription,
  AgentEventStatus,
  AppliedObjectFragment,
  ReportTelemetryInput,
} from "../generated/operations.ts";
import type { HealthState } from "../kube/stack-health.ts";

// Wire shapes come from the generated operation types (agent/broker/operations.graphql), so a
// schema change that breaks them fails the agent's build; the REST transport maps into the same.
// releaseContext may be absent: REST (Brokkr's v1 target state) carries none, so REST agents write no stickers.
export type DeploymentObjectPayload = Omit<AppliedObjectFragment, "releaseContext"> &
  Partial<Pick<AppliedObjectFragment, "releaseContext">>;
export type DeploymentEvent = Omit<AgentDeploymentsSubscription["agentDeployments"], "deploymentObject"> & {
  deploymentObject: DeploymentObjectPayload | null;
};
export type DeploymentEventType = DeploymentEvent["type"];

export interface AgentEventReport {
  deploymentObjectId: string;
  status: AgentEventStatus;
  message: string | null;
  eventType: string;
}

export interface HeartbeatReport {
  k8sReachable: boolean;
  k8sApiLatencyMs: number | null;
}

/** One entry of Brokkr's v1 `PATCH /agents/{id}/health-status` body. */
export interface DeploymentHealthEntry {
  id: string;
  status: HealthState;
  summary: { pods_total: number; pods_unhealthy: number; conditions: string[] };
  checked_at: string;
}

/** What the reconciler needs of the broker. */
export interface EventReporter {
  reportEvent(report: AgentEventReport): Promise<void>;
}

/** What a transport hands to the agent while it runs. */
export interface TransportHandlers {
  /** The sequence id to resume after, read on every (re)connect. */
  cursor(): string;
  /**
   * The reconnect reconcile: the whole target state (each stack's latest object), handed over on
   * every (re)connect before any new event; stacks missing from it were untargeted meanwhile.
   */
  onReconnectTargetState(targetState: DeploymentEvent[]): Promise<void>;
  /**
   * The poll reconcile: a whole target state read while connected (REST only, whose cursor-based
   * answers cannot say that a stack stopped reaching the agent); stacks missing from it went away.
   */
  onPolledTargetState(targetState: DeploymentEvent[]): void;
  onEvent(event: DeploymentEvent): void;
  onConnected(): void;
  onDisconnected(reason: string): void;
}

/** One way of talking to the broker: deliveries in; reports, heartbeats and health out. */
export interface BrokerTransport extends EventReporter {
  readonly name: "websocket" | "rest";
  /** Resolves to the agent's id; rejects when the PAK is not an agent's. */
  verify(): Promise<string>;
  /** Receives deliveries until `signal` aborts (resolves) or the transport gives up (rejects). */
  run(handlers: TransportHandlers, signal: AbortSignal): Promise<void>;
  heartbeat(report: HeartbeatReport): Promise<void>;
  reportHealth(entries: DeploymentHealthEntry[]): Promise<void>;
  /** Cluster telemetry (agent/telemetry); only the websocket transport carries it. */
  reportTelemetry?(input: ReportTelemetryInput): Promise<boolean>;
}
