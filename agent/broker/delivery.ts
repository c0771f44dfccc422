import type { Logger } from "pino";
import type { AgentEventReport, BrokerTransport, DeliveryHandlers, HeartbeatReport } from "./types.ts";
import { WebSocketUnavailableError } from "./websocket-transport.ts";

export interface DeliveryOptions {
  preferred: "websocket" | "rest";
  websocket: BrokerTransport;
  rest: BrokerTransport;
  /** How long to stay on REST after the websocket failed before trying it again. */
  restDwellMs?: number;
  logger: Logger;
  onTransportChange?: (name: "websocket" | "rest") => void;
}

/**
 * Chooses the transport: the websocket, falling back to REST for a while when the websocket
 * keeps failing, or REST only when configured so. Reports go through whichever is active.
 */
export class Delivery {
  private current: BrokerTransport;

  constructor(private readonly options: DeliveryOptions) {
    this.current = options.preferred === "rest" ? options.rest : options.websocket;
  }

  get active(): "websocket" | "rest" {
    return this.current.name;
  }

  verify(): Promise<string> {
    return this.current.verify();
  }

  reportEvent(report: AgentEventReport): Promise<void> {
    return this.current.reportEvent(report);
  }

  heartbeat(report: HeartbeatReport): Promise<void> {
    return this.current.heartbeat(report);
  }

  async run(handlers: DeliveryHandlers, signal: AbortSignal): Promise<void> {
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
