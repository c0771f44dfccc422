import type { RawData, WebSocket } from "ws";
import { frameEntry } from "../audit/capture/agent-ws.js";
import type { RequestOrigin } from "../audit/capture/origin.js";
import type { AuditSink } from "../audit/entry.js";
import type { ResolvedKey } from "../auth/identity.js";
import type { Database } from "../db/client.js";
import type { Connection } from "../delivery/connections.js";
import type { DeliveryHub } from "../delivery/hub.js";
import { SLOW_CONSUMER_CLOSE } from "../delivery/resolvers.js";
import { BrokkrError, fromDatabaseError } from "../errors.js";
import { moduleLogger } from "../logger.js";
import type { InputLimits } from "../validation.js";
import type { AgentWsMetrics } from "./metrics.js";
import { isDeploymentEvent, type PushFrames } from "./push-frames.js";
import { type AgentIdentity, applyControlFrame } from "./uplink.js";
import { TelemetryLane } from "./telemetry-lane.js";
import { type ControlFrame, decodeUplink, isControl } from "./wire.js";
import type { TelemetryLimits } from "../config.js";

const log = moduleLogger("brokkr-ws");

/**
 * Control frames waiting to be written. Brokkr's control lane holds 64; past that this socket
 * stops reading, so TCP pushes back and Brokkr's agent (its queue full) falls back to REST.
 */
const CONTROL_LANE_SLOTS = 64;
/** Frames ws had already read when reading paused; beyond this they are dropped. */
const CONTROL_LANE_HARD_CAP = 4 * CONTROL_LANE_SLOTS;
/** A peer that ignores the close handshake of a replaced or shut-down socket is cut off after this. */
const TERMINATE_AFTER_MS = 1000;

export interface SocketDeps {
  db: Database;
  delivery: DeliveryHub;
  frames: PushFrames;
  metrics: AgentWsMetrics;
  limits: InputLimits;
  telemetry: TelemetryLimits;
  maxBufferBytes: number;
  audit?: AuditSink;
  origin?: RequestOrigin;
}

/**
 * One Brokkr agent's socket. Down: the agent's delivery stream from the hub (the one
 * agentDeployments uses), as hint frames. Up: a control lane (heartbeat, agent_event,
 * agent_health: in order, one at a time, bounded) and a telemetry lane that never waits
 * behind it. Registered with the hub's ConnectionRegistry, so a rotated or deleted key or a
 * deactivated agent closes it (4401 / 4403) on every broker.
 */
export class AgentSocket {
  readonly connectedSince = new Date();
  messagesIn = 0;
  messagesOut = 0;
  /** The delivery stream is open: everything committed from now on reaches this socket. */
  streaming = false;
  private readonly identity: AgentIdentity;
  private readonly connection: Connection;
  private readonly control: ControlFrame[] = [];
  private readonly telemetry: TelemetryLane;
  private draining = false;
  private paused = false;
  private closed = false;
  private answeredPing = true;
  private stopStream: (() => void) | null = null;

  constructor(
    private readonly ws: WebSocket,
    key: ResolvedKey & { identity: AgentIdentity },
    private readonly deps: SocketDeps,
    private readonly onGone: (socket: AgentSocket) => void,
  ) {
    this.identity = key.identity;
    this.connection = deps.delivery.connections.add(key, ws);
    this.telemetry = new TelemetryLane({
      db: deps.db,
      identity: this.identity,
      limits: deps.telemetry,
      metrics: deps.metrics,
      recheck: () => this.connection.recheck(),
    });
    ws.on("message", (data, isBinary) => this.received(data, isBinary));
    ws.once("close", () => this.gone());
    ws.on("pong", () => (this.answeredPing = true));
  }

  get agentId(): string {
    return this.identity.id;
  }

  /**
   * Brokkr's agent has no cursor: it polls target state and takes pushes as hints. The stream
   * starts at this broker's delivery horizon, so everything committed after the upgrade reaches
   * it (later objects live, any committed meanwhile by the hub's replay) and nothing older.
   */
  async start(): Promise<void> {
    try {
      const sub = await this.deps.delivery.subscribeAgent(
        this.agentId,
        this.deps.delivery.horizon,
        {
          onOverflow: () => this.slowConsumer(),
          backedUp: () => this.backedUp(),
        },
        true,
      ); // the agent's own socket: the fleet shows it as connected by websocket
      if (this.closed) return sub.close();
      this.stopStream = () => sub.close();
      this.streaming = true;
      for await (const event of sub.stream) {
        if (!isDeploymentEvent(event)) continue;
        const frame = await this.deps.frames.frameFor(this.agentId, event);
        if (!this.send(frame, event.type === "DEPLOY" ? "stack_changed" : "target_changed")) break;
      }
    } catch (err) {
      this.failed(err);
    }
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
  }

  /** Closes, and cuts the peer off if it does not answer the close (a half-open replaced socket). */
  closeAndCutOff(code: number, reason: string): void {
    this.close(code, reason);
    setTimeout(() => this.ws.terminate(), TERMINATE_AFTER_MS).unref();
  }

  /** A peer that did not answer the previous ping is gone (half-open) and cut off. */
  ping(): void {
    if (!this.answeredPing) return void this.ws.terminate();
    this.answeredPing = false;
    if (this.ws.readyState === this.ws.OPEN) this.ws.ping();
  }

  private backedUp(): boolean {
    return this.ws.bufferedAmount > this.deps.maxBufferBytes;
  }

  private send(frame: string, type: string): boolean {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return false;
    if (this.backedUp()) {
      this.slowConsumer();
      return false;
    }
    this.ws.send(frame);
    this.messagesOut++;
    this.deps.metrics.message("out", type);
    return true;
  }

  /** As the GraphQL socket: a client that stops reading is cut off, not buffered without end. */
  private slowConsumer(): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.deps.delivery.slowConsumerClosed();
    this.close(SLOW_CONSUMER_CLOSE, "Slow consumer: send buffer exceeded");
  }

  private failed(err: unknown): void {
    const coded = fromDatabaseError(err);
    if (coded instanceof BrokkrError && coded.code === "SERVICE_UNAVAILABLE")
      return this.close(1013, "Service unavailable; retry later");
    log.error({ err, agentId: this.agentId }, "an agent websocket failed");
    this.close(1011, "Internal server error");
  }

  private received(data: RawData, isBinary: boolean): void {
    this.messagesIn++;
    // As Brokkr: binary frames and frames that do not decode are dropped, the socket stays.
    if (isBinary) return this.deps.metrics.dropped("binary");
    const frame = decodeUplink(data.toString());
    if (!frame) return this.deps.metrics.dropped("malformed");
    this.deps.metrics.message("in", frame.type);
    if (frame.body.agent_id !== this.agentId) return this.deps.metrics.dropped("agent_mismatch");
    if (!isControl(frame)) return this.telemetry.push(frame);
    if (this.control.length >= CONTROL_LANE_HARD_CAP) return this.deps.metrics.dropped("control_lane_full");
    this.control.push(frame);
    if (this.control.length >= CONTROL_LANE_SLOTS && !this.paused) {
      this.paused = true;
      this.ws.pause();
    }
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let frame = this.control.shift(); frame && !this.closed; frame = this.control.shift()) {
        await this.apply(frame);
        if (this.paused && this.control.length < CONTROL_LANE_SLOTS / 2) {
          this.paused = false;
          this.ws.resume();
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async apply(frame: ControlFrame): Promise<void> {
    try {
      // Re-read the key first, as the GraphQL socket does per operation: a write after a
      // revocation committed is refused even before this broker hears of it.
      if (!(await this.connection.recheck())) return;
      await applyControlFrame(this.deps.db, this.identity, frame, this.deps.limits);
      this.deps.audit?.record(frameEntry(this.agentId, frame, this.deps.origin, undefined));
      this.deps.metrics.applied(frame.type);
    } catch (err) {
      this.deps.audit?.record(frameEntry(this.agentId, frame, this.deps.origin, err));
      const coded = fromDatabaseError(err);
      if (coded instanceof BrokkrError) {
        // Brokkr drops a refused uplink frame; there is no error frame on its wire.
        log.info({ agentId: this.agentId, type: frame.type, code: coded.code, field: coded.field }, "uplink frame refused");
        this.deps.metrics.dropped(coded.code.toLowerCase());
      } else {
        log.error({ err, agentId: this.agentId, type: frame.type }, "writing an uplink frame failed");
        this.deps.metrics.dropped("internal_error");
      }
    }
  }

  private gone(): void {
    if (this.closed) return;
    this.closed = true;
    this.streaming = false;
    this.control.length = 0;
    this.telemetry.close();
    this.connection.remove();
    this.stopStream?.();
    this.onGone(this);
  }
}
