import type { WebSocket, WebSocketServer } from "ws";
import type { Identity } from "../auth/identity.js";

/** 1013 "Try Again Later": the server is at a limit, the client may come back. */
export const TRY_AGAIN_LATER = 1013;

/**
 * Caps that no single socket can see: sockets that have not (yet) authenticated, and open
 * subscriptions per identity across all of its sockets. An identity's count is kept per
 * socket context too, so a socket that closes gives back whatever it still held.
 */
export class SocketCaps {
  private readonly unauthenticated = new Set<WebSocket>();
  private readonly perIdentity = new Map<string, number>();
  private readonly held = new WeakMap<object, { key: string; ids: Set<string> }>();

  constructor(private readonly caps: { maxUnauthenticatedSockets: number; maxSubscriptionsPerIdentity: number }) {}

  /**
   * Registers before graphql-ws so an over-cap socket is closed before any message is read.
   * graphql-ws's onClose calls `closed` (one close listener per socket, not one per part).
   */
  watch(wss: WebSocketServer): void {
    wss.on("connection", (socket) => {
      if (this.unauthenticated.size >= this.caps.maxUnauthenticatedSockets) {
        socket.close(TRY_AGAIN_LATER, "too many unauthenticated connections");
        return;
      }
      this.unauthenticated.add(socket);
    });
  }

  authenticated(socket: WebSocket): void {
    this.unauthenticated.delete(socket);
  }

  closed(socket: WebSocket): void {
    this.unauthenticated.delete(socket);
  }

  /** Takes a subscription slot for `identity`; false when it holds the maximum already. */
  acquire(connection: object, id: string, identity: Identity): boolean {
    const key = capKey(identity);
    const count = this.perIdentity.get(key) ?? 0;
    if (count >= this.caps.maxSubscriptionsPerIdentity) return false;
    let entry = this.held.get(connection);
    if (!entry) this.held.set(connection, (entry = { key, ids: new Set() }));
    entry.ids.add(id);
    this.perIdentity.set(key, count + 1);
    return true;
  }

  release(connection: object, id: string): void {
    const entry = this.held.get(connection);
    if (!entry?.ids.delete(id)) return;
    const left = (this.perIdentity.get(entry.key) ?? 1) - 1;
    if (left > 0) this.perIdentity.set(entry.key, left);
    else this.perIdentity.delete(entry.key);
  }

  releaseAll(connection: object): void {
    for (const id of [...(this.held.get(connection)?.ids ?? [])]) this.release(connection, id);
  }

  subscriptionsOf(identity: Identity): number {
    return this.perIdentity.get(capKey(identity)) ?? 0;
  }
}

/** Users hold keys of their own: each has its own quota, not the admin key's. */
const capKey = (identity: Identity) =>
  identity.role === "ADMIN" && identity.user ? `USER:${identity.user.id}` : `${identity.role}:${identity.id ?? ""}`;
