import type { Logger } from "pino";
import type { ReportTelemetryInput } from "../generated/operations.ts";
import { jitteredDelay, sleep } from "./backoff.ts";
import { BrokerHttpError } from "./http.ts";
import type { AgentEventReport, BrokerTransport, DeploymentHealthEntry, HeartbeatReport, TransportHandlers } from "./types.ts";
import { WebSocketUnavailableError } from "./websocket-transport.ts";

export interface BrokerLinkOptions {
  preferred: "websocket" | "rest";
  websocket: BrokerTransport;
  rest: BrokerTransport;
  /** How long to stay on REST after the websocket failed before trying it again. */
  restDwellMs?: number;
  logger: Logger;
  onTransportChange?: (name: "websocket" | "rest") => void;
}

/**
 * The agent's one link to the broker. Chooses the transport: the websocket, falling back to REST
 * for a while when the websocket keeps failing, or REST only when configured so. Reports,
 * heartbeats and health go through whichever is active. (Not the broker's src/delivery/ fan-out.)
 */
export class BrokerLink {
  private current: BrokerTransport;

  constructor(private readonly options: BrokerLinkOptions) {
    this.current = options.preferred === "rest" ? options.rest : options.websocket;
  }

  get active(): "websocket" | "rest" {
    return this.current.name;
  }

  /** The agent's id; retries while the broker is unreachable or failing, not when it refuses the PAK. */
  async verify(signal: AbortSignal): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.current.verify();
      } catch (err) {
        const fatal = !(err instanceof BrokerHttpError) || [401, 403].includes(err.status) || err.code === "UNAUTHENTICATED";
        if (fatal || signal.aborted) throw err;
        this.options.logger.warn({ err: err.message, attempt }, "verifying the PAK failed; retrying");
        await sleep(jitteredDelay(attempt, 500, 30_000), signal);
      }
    }
  }

  reportEvent(report: AgentEventReport): Promise<void> {
    return this.current.reportEvent(report);
  }

  heartbeat(report: HeartbeatReport): Promise<void> {
    return this.current.heartbeat(report);
  }

  reportHealth(entries: DeploymentHealthEntry[]): Promise<void> {
    return this.current.reportHealth(entries);
  }

  /** Telemetry goes over the websocket only (as Brokkr's); false on REST. */
  async reportTelemetry(input: ReportTelemetryInput): Promise<boolean> {
    return this.current.reportTelemetry ? this.current.reportTelemetry(input) : false;
  }

  async run(handlers: TransportHandlers, signal: AbortSignal): Promise<void> {
    if (this.options.preferred === "rest") return this.options.rest.run(handlers, signal);
    while (!signal.aborted) {
      this.use(this.options.websocket);
      try {
        await this.options.websocket.run(handlers, signal);
        return;
      } catch (err) {
        if (!(err instanceof WebSocketUnavailableError)) throw err;
        this.options.logger.warn({ reason: err.message }, "falling back to REST");
      }
      this.use(this.options.rest);
      const dwell = AbortSignal.any([signal, AbortSignal.timeout(this.options.restDwellMs ?? 300_000)]);
      await this.options.rest.run(handlers, dwell);
    }
  }

  private use(transport: BrokerTransport): void {
    if (this.current === transport) return;
    this.current = transport;
    this.options.onTransportChange?.(transport.name);
  }
}
