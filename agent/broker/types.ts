export type DeploymentEventType = "DEPLOY" | "UNTARGETED";

export interface DeploymentObjectPayload {
  id: string;
  /** BigInt serialised as a string. */
  sequenceId: string;
  yamlContent: string;
  yamlChecksum: string;
  isDeletionMarker: boolean;
}

export interface DeploymentEvent {
  type: DeploymentEventType;
  stackId: string;
  deploymentObject: DeploymentObjectPayload | null;
}

export interface AgentEventReport {
  deploymentObjectId: string;
  status: "SUCCESS" | "FAILURE";
  message: string | null;
  eventType: string;
}

export interface HeartbeatReport {
  k8sReachable: boolean;
  k8sApiLatencyMs: number | null;
}

/** What the reconciler needs of the broker. */
export interface EventReporter {
  reportEvent(report: AgentEventReport): Promise<void>;
}

export interface DeliveryHandlers {
  /** The sequence id to resume after, read on every (re)connect. */
  cursor(): string;
  /**
   * The whole target state (each stack's latest object), handed over on every (re)connect before
   * any new event: stacks missing from it were untargeted while the agent was away.
   */
  resync(targetState: DeploymentEvent[]): Promise<void>;
  onEvent(event: DeploymentEvent): void;
  onConnected(): void;
  onDisconnected(reason: string): void;
}

/** One way of talking to the broker: deliveries in, reports and heartbeats out. */
export interface BrokerTransport extends EventReporter {
  readonly name: "websocket" | "rest";
  /** Resolves to the agent's id; rejects when the PAK is not an agent's. */
  verify(): Promise<string>;
  /**
   * Receives deliveries until `signal` aborts (resolves) or the transport gives up (rejects).
   */
  run(handlers: DeliveryHandlers, signal: AbortSignal): Promise<void>;
  heartbeat(report: HeartbeatReport): Promise<void>;
}
