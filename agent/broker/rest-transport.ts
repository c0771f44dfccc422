import type { Logger } from "pino";
import { jitteredDelay, sleep } from "./backoff.ts";
import { type BrokerHttp, BrokerHttpError, brokerRequest, sendHealthStatus } from "./http.ts";
import { targetStateEvents } from "./target-state.ts";
import type {
  AgentEventReport,
  BrokerTransport,
  DeploymentEvent,
  DeploymentHealthEntry,
  DeploymentObjectPayload,
  HeartbeatReport,
  TransportHandlers,
} from "./types.ts";

export interface RestTransportOptions extends BrokerHttp {
  logger: Logger;
  pollingIntervalMs: number;
  longPollWaitSeconds?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
}

interface RestDeploymentObject {
  id: string;
  sequence_id: string | number;
  stack_id: string;
  yaml_content: string;
  yaml_checksum: string;
  is_deletion_marker: boolean;
}

interface RestEvent {
  type: "DEPLOY" | "UNTARGETED";
  stack_id: string;
  deployment_object: RestDeploymentObject | null;
}

export function fromRestObject(o: RestDeploymentObject): DeploymentObjectPayload {
  return {
    id: o.id,
    sequenceId: String(o.sequence_id),
    yamlContent: o.yaml_content,
    yamlChecksum: o.yaml_checksum,
    isDeletionMarker: o.is_deletion_marker,
  };
}

/** Brokkr's v1 REST API: long-poll for deployments, else plain polling of the target state. */
export class RestTransport implements BrokerTransport {
  readonly name = "rest" as const;
  private agentId?: string;
  private serverCursor = 0n;
  /** The associated stacks as last seen, sorted and joined: only to notice that they changed. */
  private associated = "";

  constructor(private readonly options: RestTransportOptions) {}

  async verify(): Promise<string> {
    const identity = await brokerRequest<{ admin: boolean; agent: string | null; generator: string | null }>(
      this.options,
      "/api/v1/auth/pak",
      { method: "POST" },
    );
    if (!identity?.agent) throw new Error("the PAK does not belong to an agent");
    this.agentId = identity.agent;
    return identity.agent;
  }

  async reportEvent(report: AgentEventReport): Promise<void> {
    await brokerRequest(this.options, `${await this.agentPath()}/events`, {
      method: "POST",
      body: JSON.stringify({
        deployment_object_id: report.deploymentObjectId,
        event_type: report.eventType,
        status: report.status,
        message: report.message,
      }),
    });
  }

  async heartbeat(report: HeartbeatReport): Promise<void> {
    await brokerRequest(this.options, `${await this.agentPath()}/heartbeat`, {
      method: "POST",
      body: JSON.stringify({ k8s_reachable: report.k8sReachable, k8s_api_latency_ms: report.k8sApiLatencyMs }),
    });
  }

  async reportHealth(entries: DeploymentHealthEntry[]): Promise<void> {
    await sendHealthStatus(this.options, this.agentId ?? (await this.verify()), entries);
  }

  async run(handlers: TransportHandlers, signal: AbortSignal): Promise<void> {
    let longPoll = true;
    let handedOver = false;
    for (let failures = 0; !signal.aborted; ) {
      try {
        if (!handedOver) {
          await handlers.onReconnectTargetState(await this.targetState(signal));
          handedOver = true;
          handlers.onConnected();
        }
        if (longPoll) await this.longPoll(handlers, signal);
        else await this.pollTargetState(handlers, signal);
        failures = 0;
      } catch (err) {
        if (signal.aborted) return;
        if (longPoll && err instanceof BrokerHttpError && err.status === 404) {
          this.options.logger.info("broker has no long-poll endpoint; polling the target state");
          longPoll = false;
          continue;
        }
        failures++;
        handedOver = false;
        handlers.onDisconnected(String(err));
        this.options.logger.warn({ err: String(err), failures }, "REST delivery failed");
        await sleep(jitteredDelay(failures, this.options.retryBaseMs ?? 500, this.options.retryMaxMs ?? 30_000), signal);
      }
    }
  }

  /** Every associated stack's latest object, as DEPLOY events in sequence order. */
  private async targetState(signal: AbortSignal): Promise<DeploymentEvent[]> {
    const objects =
      (await brokerRequest<RestDeploymentObject[]>(this.options, `${await this.agentPath()}/target-state?mode=full`, {
        signal,
      })) ?? [];
    this.associated = associationKey(objects.map((o) => o.stack_id));
    return targetStateEvents(objects.map((o) => ({ stackId: o.stack_id, deploymentObject: fromRestObject(o) })));
  }

  /**
   * The long-poll is cursor-based, so it cannot itself say that a stack stopped reaching this
   * agent, or started reaching it with an object older than the cursor: when `stack_ids` (the
   * associated stacks now) changes, the whole target state goes to the poll reconcile.
   */
  private async longPoll(handlers: TransportHandlers, signal: AbortSignal): Promise<void> {
    const local = BigInt(handlers.cursor());
    const after = local > this.serverCursor ? local : this.serverCursor;
    const wait = this.options.longPollWaitSeconds ?? 25;
    const request = AbortSignal.any([signal, AbortSignal.timeout((wait + 15) * 1000)]);
    const answer = await brokerRequest<{ events: RestEvent[]; cursor: string; stack_ids?: string[] }>(
      this.options,
      `${await this.agentPath()}/deployment-objects?after=${after}&wait=${wait}`,
      { signal: request },
    );
    for (const e of answer?.events ?? []) {
      handlers.onEvent({
        type: e.type,
        stackId: e.stack_id,
        deploymentObject: e.deployment_object ? fromRestObject(e.deployment_object) : null,
      });
    }
    if (answer?.stack_ids && associationKey(answer.stack_ids) !== this.associated) {
      handlers.onPolledTargetState(await this.targetState(signal));
      this.associated = associationKey(answer.stack_ids);
    }
    if (answer?.cursor !== undefined) this.serverCursor = BigInt(answer.cursor);
  }

  /** Without the long-poll endpoint: the whole target state on every tick, to the poll reconcile. */
  private async pollTargetState(handlers: TransportHandlers, signal: AbortSignal): Promise<void> {
    handlers.onPolledTargetState(await this.targetState(signal));
    await sleep(this.options.pollingIntervalMs, signal);
  }

  private async agentPath(): Promise<string> {
    return `/api/v1/agents/${encodeURIComponent(this.agentId ?? (await this.verify()))}`;
  }
}

function associationKey(stackIds: string[]): string {
  return [...new Set(stackIds)].sort().join(",");
}
