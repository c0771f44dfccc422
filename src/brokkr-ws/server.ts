import type { UpgradeGate } from "../http/upgrade-gate.js";
import { refuseUpgrade, refuseUpgradeForFault } from "../http/upgrade.js";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Registry } from "prom-client";
import { WebSocketServer, type WebSocket } from "ws";
import { originOf, type RequestOrigin } from "../audit/capture/origin.js";
import type { AuditSink } from "../audit/entry.js";
import type { IdentityResolver, ResolvedKey } from "../auth/identity.js";
import type { Database } from "../db/client.js";
import type { DeliveryHub } from "../delivery/hub.js";
import { moduleLogger } from "../logger.js";
import type { InputLimits } from "../validation.js";
import type { TelemetryLimits } from "../config.js";
import { AgentSocket } from "./connection.js";
import { type AgentWsMetrics, createAgentWsMetrics } from "./metrics.js";
import { PushFrames } from "./push-frames.js";
import type { AgentIdentity } from "./uplink.js";

const log = moduleLogger("brokkr-ws");

/** Brokkr's agent derives this from its broker URL (reference §2.3). */
export const AGENT_WS_PATH = "/internal/ws/agent";
/** Close code for a socket replaced by a newer one of the same agent (Brokkr's registry rule). */
export const CLOSE_REPLACED = 4409;
/**
 * Neither Brokkr side sends application keepalives; a protocol ping (which Brokkr's
 * tungstenite client answers by itself) finds dead peers so they stop holding a slot.
 */
const PING_INTERVAL_MS = 30_000;

export interface AgentSocketOptions {
  db: Database;
  identities: IdentityResolver;
  delivery: DeliveryHub;
  registry: Registry;
  maxFrameBytes: number;
  maxSocketsPerAgent: number;
  /** Unsent bytes a socket may hold before it is closed as a slow consumer (4413). */
  maxBufferBytes: number;
  /** The broker's one cap on sockets not yet authenticated (src/http/upgrade-gate.ts). */
  gate: UpgradeGate;
  limits: InputLimits;
  telemetry: TelemetryLimits;
  onFault: (err: unknown) => void;
  /** Control frames (they change state) are recorded here. */
  audit?: AuditSink;
  trustForwardedFor?: boolean;
}

/** The snapshot Brokkr's `GET /admin/ws/connections` reports (WsConnectionInfo). */
export interface AgentConnectionInfo {
  agent_id: string;
  connected_since: string;
  messages_in: number;
  messages_out: number;
}

/**
 * Brokkr's agent websocket, so an unmodified Brokkr agent gets pushes from the same delivery
 * hub as agentDeployments. Authentication is Brokkr's: the agent's PAK in the Authorization
 * header of the upgrade request (raw or `Bearer`), checked before the upgrade: a missing,
 * malformed or unknown key is refused with 401 (a malformed one before any database access),
 * a generator's or the admin's with 403, and nothing is set up for either.
 */
export class AgentSocketServer {
  private readonly wss: WebSocketServer;
  private readonly byAgent = new Map<string, AgentSocket[]>();
  private readonly frames: PushFrames;
  private readonly metrics: AgentWsMetrics;
  private readonly pinger: NodeJS.Timeout;

  constructor(private readonly opts: AgentSocketOptions) {
    // A frame over the cap closes the socket with 1009 before it is parsed.
    this.wss = new WebSocketServer({ noServer: true, clientTracking: false, maxPayload: opts.maxFrameBytes });
    this.wss.on("error", opts.onFault);
    this.frames = new PushFrames(opts.db);
    this.metrics = createAgentWsMetrics(opts.registry, () => this.byAgent.size);
    this.pinger = setInterval(() => this.ping(), PING_INTERVAL_MS);
    this.pinger.unref();
  }

  handles(req: IncomingMessage): boolean {
    return new URL(req.url ?? "/", "http://localhost").pathname === AGENT_WS_PATH;
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A client gone while its key is looked up must not raise; after the upgrade ws owns errors.
    const gone = () => socket.destroy();
    socket.on("error", gone);
    this.opts.gate.enter(socket, head, (early, release) => this.authenticate(req, socket, early, gone, release));
  }

  private authenticate(req: IncomingMessage, socket: Duplex, head: Buffer, gone: () => void, release: () => void): void {
    const origin = originOf(req, "agent-ws", this.opts.trustForwardedFor ?? false);
    this.opts.identities.resolveKey(req.headers.authorization, origin).then(
      (key) => {
        release();
        if (!key) return refuseUpgrade(socket, 401);
        if (key.identity.role !== "AGENT") return refuseUpgrade(socket, 403);
        const agentKey = { ...key, identity: key.identity };
        socket.off("error", gone);
        this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, agentKey, origin));
      },
      (err) => {
        release();
        refuseUpgradeForFault(socket, err, (e) => log.error({ err: e }, "resolving an agent websocket key failed"));
      },
    );
  }

  /** Open sockets, for Brokkr's admin connections view. */
  connections(): AgentConnectionInfo[] {
    return [...this.byAgent.values()].flat().map((s) => ({
      agent_id: s.agentId,
      connected_since: s.connectedSince.toISOString(),
      messages_in: s.messagesIn,
      messages_out: s.messagesOut,
    }));
  }

  /** Whether a socket of the agent has its delivery stream open (tests wait on this). */
  isStreaming(agentId: string): boolean {
    return (this.byAgent.get(agentId) ?? []).some((s) => s.streaming);
  }

  get size(): number {
    let n = 0;
    for (const list of this.byAgent.values()) n += list.length;
    return n;
  }

  stop(): void {
    clearInterval(this.pinger);
    for (const socket of [...this.byAgent.values()].flat()) socket.closeAndCutOff(1001, "Broker shutting down");
    this.wss.close();
  }

  /**
   * As Brokkr's registry, a newer socket of an agent replaces the oldest once it holds the
   * maximum: a reconnecting agent is never locked out by its own half-open socket.
   */
  private accept(ws: WebSocket, key: ResolvedKey & { identity: AgentIdentity }, origin: RequestOrigin): void {
    ws.on("error", this.opts.onFault);
    const agentId = key.identity.id;
    const list = this.byAgent.get(agentId) ?? [];
    this.byAgent.set(agentId, list);
    while (list.length >= this.opts.maxSocketsPerAgent)
      list.shift()?.closeAndCutOff(CLOSE_REPLACED, "Replaced by a newer connection of this agent");
    const { db, delivery, limits, telemetry, maxBufferBytes, audit } = this.opts;
    const socket = new AgentSocket(
      ws,
      key,
      { db, delivery, frames: this.frames, metrics: this.metrics, limits, telemetry, maxBufferBytes, audit, origin },
      (gone) => {
        const current = this.byAgent.get(agentId);
        const at = current?.indexOf(gone) ?? -1;
        if (current && at >= 0) current.splice(at, 1);
        if (current?.length === 0) this.byAgent.delete(agentId);
      },
    );
    list.push(socket);
    void socket.start();
  }

  private ping(): void {
    for (const socket of [...this.byAgent.values()].flat()) socket.ping();
  }
}
