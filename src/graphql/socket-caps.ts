import type { WebSocket } from "ws";
import type { Identity } from "../auth/identity.js";
import { added, contains, removed, valuesOf, type SmallSet } from "../small-set.js";

/**
 * Caps that no single socket can see: sockets that have not (yet) authenticated (a place of the
 * broker's UpgradeGate, given back once the socket authenticates; the gate takes it back on close), and open
 * subscriptions per identity across all of its sockets. An identity's count is kept per
 * socket context too, so a socket that closes gives back whatever it still held. Counts are
 * kept by role, then by the identity's own id string (no key string per identity).
 */
export class SocketCaps {
  private readonly unauthenticated = new WeakMap<WebSocket, () => void>();
  private readonly perIdentity = new Map<string, Map<string, number>>();
  private readonly held = new WeakMap<object, Held>();

  constructor(private readonly caps: { maxSubscriptionsPerIdentity: number }) {}

  /** An upgraded socket holds its gate place until `authenticated` (the gate itself takes it back on close). */
  admitted(socket: WebSocket, release: () => void): void {
    this.unauthenticated.set(socket, release);
  }

  authenticated(socket: WebSocket): void {
    this.unauthenticated.get(socket)?.();
    this.unauthenticated.delete(socket);
  }

  /** Takes a subscription slot for `identity`; false when it holds the maximum already. */
  acquire(connection: object, id: string, identity: Identity): boolean {
    const [role, identityId] = capKey(identity);
    let counts = this.perIdentity.get(role);
    const count = counts?.get(identityId) ?? 0;
    if (count >= this.caps.maxSubscriptionsPerIdentity) return false;
    if (!counts) this.perIdentity.set(role, (counts = new Map()));
    const entry = this.held.get(connection);
    if (!entry) this.held.set(connection, new Held(counts, identityId, id));
    else if (contains(entry.ids, id))
      return true; // held already: counted once, as before
    else entry.ids = added(entry.ids, id);
    counts.set(identityId, count + 1);
    return true;
  }

  release(connection: object, id: string): void {
    const entry = this.held.get(connection);
    if (!entry || !contains(entry.ids, id)) return;
    entry.ids = removed(entry.ids, id);
    const left = (entry.counts.get(entry.identityId) ?? 1) - 1;
    if (left > 0) entry.counts.set(entry.identityId, left);
    else entry.counts.delete(entry.identityId);
  }

  releaseAll(connection: object): void {
    for (const id of valuesOf(this.held.get(connection)?.ids)) this.release(connection, id);
  }

  subscriptionsOf(identity: Identity): number {
    const [role, identityId] = capKey(identity);
    return this.perIdentity.get(role)?.get(identityId) ?? 0;
  }
}

/** What one socket context holds: its identity's counts (of its role) and the ids it took. */
class Held {
  constructor(
    readonly counts: Map<string, number>,
    readonly identityId: string,
    public ids: SmallSet<string> | undefined,
  ) {}
}

/** Users hold keys of their own: each has its own quota, not the admin key's. */
const capKey = (identity: Identity): [role: string, id: string] =>
  identity.role === "ADMIN" && identity.user ? ["USER", identity.user.id] : [identity.role, identity.id ?? ""];
