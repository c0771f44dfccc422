import { createClient, type Client } from "graphql-ws";
import type { Logger } from "pino";
import WebSocket from "ws";
import { jitteredDelay, sleep } from "./backoff.ts";
import {
  AgentDeploymentsDocument,
  type AgentDeploymentsSubscription,
  type AgentDeploymentsSubscriptionVariables,
  AgentMeDocument,
  AgentTargetStateDocument,
  HeartbeatDocument,
  ReportAgentEventDocument,
  ReportTelemetryDocument,
  type ReportTelemetryInput,
} from "../generated/operations.ts";
import { TelemetryRefusedError } from "../telemetry/index.ts";
import { type BrokerHttp, graphqlRequest, sendHealthStatus } from "./http.ts";
import { targetStateEvents } from "./target-state.ts";
import type {
  AgentEventReport,
  BrokerTransport,
  DeploymentEvent,
  DeploymentHealthEntry,
  HeartbeatReport,
  TransportHandlers,
} from "./types.ts";

export class WebSocketUnavailableError extends Error {
  override name = "WebSocketUnavailableError";
}

export interface WebSocketTransportOptions extends BrokerHttp {
  logger: Logger;
  /** Consecutive sessions that fail without ever connecting before `run` gives up; Infinity never. */
  maxConsecutiveFailures?: number;
  keepAliveMs?: number;
  pongTimeoutMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
}

type SessionResult = { connected: boolean; reason: string };

/** Subscriptions over graphql-ws; mutations and `me` over HTTP POST /graphql. */
export class WebSocketTransport implements BrokerTransport {
  readonly name = "websocket" as const;
  private agentId?: string;
  /** The session's client once the broker acknowledged it: telemetry rides on this socket. */
  private live: Client | null = null;

  constructor(private readonly options: WebSocketTransportOptions) {}

  async verify(): Promise<string> {
    const { me } = await graphqlRequest(this.options, AgentMeDocument, {});
    if (me.role !== "AGENT" || !me.id) throw new Error(`the PAK belongs to a ${me.role}, not an agent`);
    this.agentId = me.id;
    return me.id;
  }

  /** Every associated stack's latest object, as DEPLOY events in sequence order. */
  async targetState(): Promise<DeploymentEvent[]> {
    const agentId = this.agentId ?? (await this.verify());
    const { targetState } = await graphqlRequest(this.options, AgentTargetStateDocument, { agentId });
    return targetStateEvents(targetState);
  }

  async reportEvent(report: AgentEventReport): Promise<void> {
    const { deploymentObjectId, status, message, eventType } = report;
    await graphqlRequest(this.options, ReportAgentEventDocument, { input: { deploymentObjectId, status, message, eventType } });
  }

  async heartbeat(report: HeartbeatReport): Promise<void> {
    const { k8sReachable, k8sApiLatencyMs } = report;
    await graphqlRequest(this.options, HeartbeatDocument, { input: { k8sReachable, k8sApiLatencyMs } });
  }

  /** The schema has no health mutation, so health goes over Brokkr's v1 REST path on either transport. */
  async reportHealth(entries: DeploymentHealthEntry[]): Promise<void> {
    await sendHealthStatus(this.options, this.agentId ?? (await this.verify()), entries);
  }

  /**
   * One telemetry batch as a mutation over the session's socket (not HTTP: Brokkr's telemetry
   * goes over its websocket only); false when no session is up.
   */
  async reportTelemetry(input: ReportTelemetryInput): Promise<boolean> {
    const client = this.live;
    if (!client) return false;
    await new Promise<void>((resolve, reject) => {
      client.subscribe(
        { query: ReportTelemetryDocument.toString(), variables: { input } },
        {
          next: (result) => {
            const error = result.errors?.[0];
            const code = prop(error?.extensions, "code");
            if (error)
              reject(code === "INTERNAL_SERVER_ERROR" ? new Error(error.message) : new TelemetryRefusedError(error.message));
          },
          error: (err) => reject(new Error(describeClose(err))),
          complete: resolve,
        },
      );
    });
    return true;
  }

  /**
   * Reconnects forever with jittered backoff, subscribing afresh each time so the broker replays
   * from the current cursor (graphql-ws's own retry would resend the first cursor).
   */
  async run(handlers: TransportHandlers, signal: AbortSignal): Promise<void> {
    const maxFailures = this.options.maxConsecutiveFailures ?? Infinity;
    let failures = 0;
    while (!signal.aborted) {
      const result = await this.session(handlers, signal);
      if (signal.aborted) return;
      failures = result.connected ? 0 : failures + 1;
      handlers.onDisconnected(result.reason);
      this.options.logger.warn({ reason: result.reason, failures }, "broker subscription ended");
      if (failures >= maxFailures)
        throw new WebSocketUnavailableError(`websocket failed ${failures} times in a row: ${result.reason}`);
      await sleep(jitteredDelay(failures, this.options.retryBaseMs ?? 500, this.options.retryMaxMs ?? 30_000), signal);
    }
  }

  /**
   * One connection. Once it is acknowledged the target state is fetched and handed over; events
   * arriving meanwhile are held so they follow it. The subscription is opened first so that no
   * change between the fetch and the subscription is missed (a repeat is harmless).
   */
  private session(handlers: TransportHandlers, signal: AbortSignal): Promise<SessionResult> {
    let connected = false;
    let handedOver = false;
    const held: DeploymentEvent[] = [];
    return new Promise<SessionResult>((resolve) => {
      let done = false;
      let unsubscribe = () => {};
      const finish = (reason: string) => {
        if (done) return;
        done = true;
        signal.removeEventListener("abort", onAbort);
        if (this.live === client) this.live = null;
        unsubscribe();
        void client.dispose();
        resolve({ connected: connected && handedOver, reason });
      };
      const handOverTargetState = async () => {
        try {
          await handlers.onReconnectTargetState(await this.targetState());
        } catch (err) {
          return finish(`reconciling the target state failed: ${describeClose(err)}`);
        }
        if (done) return;
        handedOver = true;
        for (const event of held.splice(0)) handlers.onEvent(event);
      };
      const client = this.createClient(() => {
        connected = true;
        this.live = client;
        handlers.onConnected();
        void handOverTargetState();
      });
      const onAbort = () => finish("stopped");
      signal.addEventListener("abort", onAbort, { once: true });
      const after = handlers.cursor();
      this.options.logger.info({ after }, "subscribing to deployments");
      const variables: AgentDeploymentsSubscriptionVariables = { after };
      unsubscribe = client.subscribe<AgentDeploymentsSubscription>(
        { query: AgentDeploymentsDocument.toString(), variables },
        {
          next: (result) => {
            const error = result.errors?.[0];
            if (error) return finish(`subscription error: ${error.message}`);
            if (!result.data) return;
            if (handedOver) handlers.onEvent(result.data.agentDeployments);
            else held.push(result.data.agentDeployments);
          },
          error: (err) => finish(describeClose(err)),
          complete: () => finish("the broker completed the subscription"),
        },
      );
    });
  }

  private createClient(onConnected: () => void): Client {
    let socket: WebSocket | undefined;
    let pongTimer: NodeJS.Timeout | undefined;
    const url = `${this.options.baseUrl.replace(/^http/, "ws")}/graphql`;
    return createClient({
      url,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${this.options.pak}` },
      retryAttempts: 0,
      lazy: true,
      keepAlive: this.options.keepAliveMs ?? 10_000,
      on: {
        connected: (s) => {
          if (s instanceof WebSocket) socket = s;
          onConnected();
        },
        // A ping without a pong in time means a dead connection that TCP alone may not notice.
        ping: (received) => {
          if (received) return;
          pongTimer = setTimeout(() => socket?.close(4408, "Pong timeout"), this.options.pongTimeoutMs ?? 5_000);
        },
        pong: (received) => {
          if (received) clearTimeout(pongTimer);
        },
        closed: () => clearTimeout(pongTimer),
      },
    });
  }
}

/** A property of a value that graphql-ws hands over untyped, when it is an object. */
function prop(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? Reflect.get(value, key) : undefined;
}

/** graphql-ws's `error` gets an Error, a CloseEvent or the subscription's GraphQL errors. */
function describeClose(err: unknown): string {
  if (err instanceof Error) return err.message;
  const code = prop(err, "code");
  if (typeof code === "number") {
    const reason = prop(err, "reason");
    return `socket closed with ${code}${typeof reason === "string" && reason ? ` (${reason})` : ""}`;
  }
  if (Array.isArray(err)) return `subscription error: ${String(prop(err[0], "message") ?? "unknown")}`;
  return String(prop(err, "message") ?? err);
}
