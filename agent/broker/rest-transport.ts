import type { Logger } from "pino";
import { jitteredDelay, sleep } from "./backoff.ts";
import { type BrokerHttp, BrokerHttpError, brokerRequest } from "./http.ts";
import { targetStateEvents } from "./target-state.ts";
import type { AgentEventReport, BrokerTransport, DeliveryHandlers, DeploymentEvent, DeploymentObjectPayload, HeartbeatReport } from "./types.ts";

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
  private knownStacks?: Set<string>;

  constructor(private readonly options: RestTransportOptions) {}

  async verify(): Promise<string> {
    const identity = await brokerRequest<{ admin: boolean; agent: string | null; generator: string | null }>(this.options, "/api/v1/auth/pak", { method: "POST" });
    if (!identity?.agent) throw new Error("the PAK does not belong to an agent");
    this.agentId = identity.agent;
    return identity.agent;
  }

  async reportEvent(report: AgentEventReport): Promise<void> {
    await brokerRequest(this.options, `${await this.agentPath()}/events`, {
      method: "POST",
      body: JSON.stringify({ deployment_object_id: report.deploymentObjectId, event_type: report.eventType, status: report.status, message: report.message }),
    });
  }

  async heartbeat(report: HeartbeatReport): Promise<void> {
    await brokerRequest(this.options, `${await this.agentPath()}/heartbeat`, {
      method: "POST",
      body: JSON.stringify({ k8s_reachable: report.k8sReachable, k8s_api_latency_ms: report.k8sApiLatencyMs }),
    });
  }

  async run(handlers: DeliveryHandlers, signal: AbortSignal): Promise<void> {
    let longPoll = true;
    let resynced = false;
    for (let failures = 0; !signal.aborted; ) {
      try {
        if (!resynced) {
          await this.resync(handlers, signal);
          resynced = true;
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
        resynced = false;
        handlers.onDisconnected(String(err));
        this.options.logger.warn({ err: String(err), failures }, "REST delivery failed");
        await sleep(jitteredDelay(failures, this.options.retryBaseMs ?? 500, this.options.retryMaxMs ?? 30_000), signal);
      }
    }
  }

  /** On every (re)connect: the whole target state first, so stacks untargeted meanwhile are noticed. */
  private async resync(handlers: DeliveryHandlers, signal: AbortSignal): Promise<void> {
    const objects = await this.fetchTargetState(signal);
    this.knownStacks = new Set(objects.map((o) => o.stack_id));
    await handlers.resync(targetStateEvents(objects.map((o) => ({ stackId: o.stack_id, deploymentObject: fromRestObject(o) }))));
  }

  private async fetchTargetState(signal: AbortSignal): Promise<RestDeploymentObject[]> {
    return (await brokerRequest<RestDeploymentObject[]>(this.options, `${await this.agentPath()}/target-state?mode=full`, { signal })) ?? [];
  }

  private async longPoll(handlers: DeliveryHandlers, signal: AbortSignal): Promise<void> {
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
      handlers.onEvent({ type: e.type, stackId: e.stack_id, deploymentObject: e.deployment_object ? fromRestObject(e.deployment_object) : null });
    }
    if (answer?.stack_ids) await this.reconcileStacks(answer.stack_ids, answer.events ?? [], handlers, signal);
    if (answer?.cursor !== undefined) this.serverCursor = BigInt(answer.cursor);
  }

  /**
   * The long-poll is cursor-based, so it cannot itself say that a stack stopped reaching this
   * agent, or started reaching it with an object older than the cursor: `stack_ids` (the
   * associated stacks now) lets the agent untarget what vanished and fetch what it lacks.
   */
  private async reconcileStacks(stackIds: string[], events: RestEvent[], handlers: DeliveryHandlers, signal: AbortSignal): Promise<void> {
    const current = new Set(stackIds);
    const known = this.knownStacks;
    this.knownStacks = current;
    if (!known) return;
    for (const stackId of known) if (!current.has(stackId)) handlers.onEvent({ type: "UNTARGETED", stackId, deploymentObject: null });
    const delivered = new Set(events.map((e) => e.stack_id));
    const added = stackIds.filter((s) => !known.has(s) && !delivered.has(s));
    if (added.length === 0) return;
    const objects = await this.fetchTargetState(signal);
    for (const o of objects) if (added.includes(o.stack_id)) handlers.onEvent({ type: "DEPLOY", stackId: o.stack_id, deploymentObject: fromRestObject(o) });
  }

  /** The full target state; a stack that drops out of it since the last poll is untargeted. */
  private async pollTargetState(handlers: DeliveryHandlers, signal: AbortSignal): Promise<void> {
    const objects = await this.fetchTargetState(signal);
    const events: DeploymentEvent[] = objects
      .sort((a, b) => (BigInt(a.sequence_id) < BigInt(b.sequence_id) ? -1 : 1))
      .map((o) => ({ type: "DEPLOY", stackId: o.stack_id, deploymentObject: fromRestObject(o) }));
    const current = new Set(objects.map((o) => o.stack_id));
    for (const stackId of this.knownStacks ?? []) {
      if (!current.has(stackId)) events.push({ type: "UNTARGETED", stackId, deploymentObject: null });
    }
    this.knownStacks = current;
    for (const event of events) handlers.onEvent(event);
    await sleep(this.options.pollingIntervalMs, signal);
  }

  private async agentPath(): Promise<string> {
    return `/api/v1/agents/${encodeURIComponent(this.agentId ?? (await this.verify()))}`;
  }
}
