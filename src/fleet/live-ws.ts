import type { UpgradeGate } from "../http/upgrade-gate.js";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { IdentityResolver, ResolvedKey } from "../auth/identity.js";
import { pickBrokkrSubprotocol, refuseUpgrade, refuseUpgradeForFault, upgradeKey } from "../http/upgrade.js";
import type { ConnectionRegistry } from "../delivery/connections.js";
import { moduleLogger } from "../logger.js";
import { fleetRecordJson } from "../rest/fleet-routes.js";
import type { FleetChange, FleetFeed } from "./feed.js";

const log = moduleLogger("fleet-live");

export const FLEET_LIVE_PATH = "/api/v1/fleet/live";

export interface FleetLiveOptions {
  identities: IdentityResolver;
  feed: FleetFeed;
  connections: ConnectionRegistry;
  /** Unsent bytes past which frames are skipped for that socket (Brokkr: a lagging subscriber skips). */
  maxBufferBytes: number;
  /** The broker's one cap on sockets not yet authenticated (src/http/upgrade-gate.ts). */
  gate: UpgradeGate;
  onFault: (err: unknown) => void;
}

/**
 * Brokkr's `/api/v1/fleet/live`: one `{type: "fleet_update", body: FleetAgentRecord}` frame per
 * changed agent, from the same feed as the fleetChanges subscription. The key is checked at the
 * upgrade: missing, malformed or unknown → 401, any key but the admin's or a user's → 403.
 * Clients send nothing; the socket is closed with 4401 when a user's key is revoked.
 */
export class FleetLiveServer {
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();

  constructor(private readonly opts: FleetLiveOptions) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: 4096,
      handleProtocols: pickBrokkrSubprotocol,
    });
    this.wss.on("error", opts.onFault);
  }

  handles(req: IncomingMessage): boolean {
    return new URL(req.url ?? "/", "http://localhost").pathname === FLEET_LIVE_PATH;
  }

  get size(): number {
    return this.sockets.size;
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const gone = () => socket.destroy();
    socket.on("error", gone);
    this.opts.gate.enter(socket, head, (early, release) =>
      this.opts.identities.resolveKey(upgradeKey(req)).then(
        (key) => {
          release();
          if (!key) return refuseUpgrade(socket, 401);
          if (key.identity.role !== "ADMIN") return refuseUpgrade(socket, 403);
          socket.off("error", gone);
          this.wss.handleUpgrade(req, socket, early, (ws) => this.accept(ws, key));
        },
        (err) => {
          release();
          refuseUpgradeForFault(socket, err, (e) => log.error({ err: e }, "resolving a fleet websocket key failed"));
        },
      ),
    );
  }

  stop(): void {
    for (const ws of this.sockets) ws.close(1001, "Broker shutting down");
    this.sockets.clear();
    this.wss.close();
  }

  private accept(ws: WebSocket, key: ResolvedKey): void {
    ws.on("error", this.opts.onFault);
    this.sockets.add(ws);
    const revocation = this.opts.connections.add(key, { close: (c, r) => ws.close(c, r), terminate: () => ws.terminate() });
    const off = this.opts.feed.listen((changes) => this.send(ws, changes));
    // Consumers only listen; anything they send is ignored (Brokkr's fleet socket reads nothing).
    ws.on("close", () => {
      off();
      revocation.remove();
      this.sockets.delete(ws);
    });
  }

  private send(ws: WebSocket, changes: FleetChange[]): void {
    for (const change of changes) {
      if (ws.readyState !== ws.OPEN || ws.bufferedAmount > this.opts.maxBufferBytes) return;
      ws.send(JSON.stringify({ type: "fleet_update", body: fleetRecordJson(change.status) }));
    }
  }
}
