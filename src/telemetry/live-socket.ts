import type { UpgradeGate } from "../http/upgrade-gate.js";
import { pickBrokkrSubprotocol, refuseUpgrade, refuseUpgradeForFault, upgradeKey } from "../http/upgrade.js";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { IdentityResolver, ResolvedKey } from "../auth/identity.js";
import type { Database } from "../db/client.js";
import type { DeliveryHub } from "../delivery/hub.js";
import { SLOW_CONSUMER_CLOSE } from "../delivery/resolvers.js";
import { BrokkrError, fromDatabaseError } from "../errors.js";
import { moduleLogger } from "../logger.js";
import type { TelemetryFeed } from "./feed.js";
import { liveFrame } from "./frames.js";
import { getTelemetryStack } from "./service.js";

const log = moduleLogger("telemetry-live");
const LIVE_PATH = /^\/api\/v1\/stacks\/([^/]+)\/live$/;
const PING_INTERVAL_MS = 30_000;

export interface LiveTailOptions {
  db: Database;
  identities: IdentityResolver;
  delivery: DeliveryHub;
  feed: TelemetryFeed;
  /** Unsent bytes a tail may hold before it is closed as a slow consumer (4413). */
  maxBufferBytes: number;
  /** The broker's one cap on sockets not yet authenticated (src/http/upgrade-gate.ts). */
  gate: UpgradeGate;
  onFault: (err: unknown) => void;
}

const HTTP_OF: Partial<Record<string, number>> = {
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  SERVICE_UNAVAILABLE: 503,
};

/**
 * Brokkr's live tail, `GET /api/v1/stacks/{id}/live` (reference/brokkr.md §2.6): the stack's
 * generator or an admin (agents 403, others 403 or, for the admin, 404), checked before the
 * upgrade. Frames are Brokkr's `k8s_event`, `pod_log_line` and `log_gap`, no backlog. A tail
 * whose unsent bytes pass the cap is closed (4413) rather than buffered; a rotated or deleted
 * key closes it as it closes every websocket of that key.
 */
export class LiveTailServer {
  private readonly wss: WebSocketServer;
  /** Open tails, and whether each answered the last ping. */
  private readonly sockets = new Map<WebSocket, { alive: boolean }>();
  private readonly pinger: NodeJS.Timeout;

  constructor(private readonly opts: LiveTailOptions) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: 4096, // a consumer has nothing to say
      handleProtocols: pickBrokkrSubprotocol,
    });
    this.wss.on("error", opts.onFault);
    this.pinger = setInterval(() => this.ping(), PING_INTERVAL_MS);
    this.pinger.unref();
  }

  handles(req: IncomingMessage): boolean {
    return LIVE_PATH.test(new URL(req.url ?? "/", "http://localhost").pathname);
  }

  get size(): number {
    return this.sockets.size;
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const gone = () => socket.destroy();
    socket.on("error", gone);
    const stackId = decodeURIComponent(LIVE_PATH.exec(new URL(req.url ?? "/", "http://localhost").pathname)?.[1] ?? "");
    this.opts.gate.enter(socket, head, (early, release) =>
      this.authorize(upgradeKey(req), stackId).then(
        (outcome) => {
          release();
          if (typeof outcome === "number") return refuseUpgrade(socket, outcome);
          socket.off("error", gone);
          this.wss.handleUpgrade(req, socket, early, (ws) => this.accept(ws, outcome, stackId));
        },
        (err) => {
          release();
          refuseUpgradeForFault(socket, err, (e) => log.error({ err: e }, "authorizing a live tail failed"));
        },
      ),
    );
  }

  stop(): void {
    clearInterval(this.pinger);
    for (const ws of this.sockets.keys()) ws.close(1001, "Broker shutting down");
    this.wss.close();
  }

  /** The caller's key, or the HTTP status to refuse the upgrade with. */
  private async authorize(raw: string | undefined, stackId: string): Promise<ResolvedKey | number> {
    try {
      const key = await this.opts.identities.resolveKey(raw);
      if (!key) return 401;
      await getTelemetryStack(this.opts.db, key.identity, stackId);
      return key;
    } catch (err) {
      const coded = fromDatabaseError(err);
      if (coded instanceof BrokkrError) return HTTP_OF[coded.code] ?? 500;
      throw err;
    }
  }

  private accept(ws: WebSocket, key: ResolvedKey, stackId: string): void {
    const state = { alive: true };
    this.sockets.set(ws, state);
    ws.on("error", this.opts.onFault);
    ws.on("pong", () => (state.alive = true));
    const connection = this.opts.delivery.connections.add(key, ws);
    const off = this.opts.feed.listen(stackId, (row) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > this.opts.maxBufferBytes) {
        this.opts.delivery.slowConsumerClosed();
        return ws.close(SLOW_CONSUMER_CLOSE, "Slow consumer: send buffer exceeded");
      }
      ws.send(liveFrame(row));
    });
    ws.once("close", () => {
      off();
      connection.remove();
      this.sockets.delete(ws);
    });
  }

  /** A tail that did not answer the previous ping is gone (half-open) and cut off. */
  private ping(): void {
    for (const [ws, state] of this.sockets) {
      if (!state.alive) ws.terminate();
      else if (ws.readyState === ws.OPEN) {
        state.alive = false;
        ws.ping();
      }
    }
  }
}
