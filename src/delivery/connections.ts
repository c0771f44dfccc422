import type { ResolvedKey } from "../auth/identity.js";
import { hashesEqual } from "../auth/pak.js";
import { liveKeyStates, type KeyState } from "../auth/store.js";
import { Batcher } from "../db/batcher.js";
import type { Db } from "../db/client.js";
import { moduleLogger } from "../logger.js";
import { addTo, removeFrom, sizeOf, valuesOf, type SmallSet } from "../small-set.js";

const log = moduleLogger("connections");

/** graphql-ws's codes: the key no longer holds (rotated, deleted) / the agent was deactivated. */
export const CLOSE_REVOKED = 4401;
export const CLOSE_DEACTIVATED = 4403;
/** A client that ignores the close handshake is cut off after this. */
const TERMINATE_AFTER_MS = 1000;

export interface Socket {
  close(code: number, reason: string): void;
  terminate(): void;
}

/** One authenticated websocket, as far as revocation is concerned. */
export interface Connection {
  /** Re-reads the identity's key; closes the socket and returns false when it no longer holds. */
  recheck(): Promise<boolean>;
  remove(): void;
}

/** The roles whose keys can change at run time (not the configured admin key). */
type TrackedRole = KeyState["role"];

/** Users act with the admin's role but hold keys of their own, revocable like any other. */
function trackedRole(identity: ResolvedKey["identity"]): TrackedRole | null {
  if (identity.role !== "ADMIN") return identity.role;
  return identity.user ? "USER" : null;
}

/**
 * One connection: what the registry tracks, and the Connection handed out (one object per
 * socket; its identity's role and id are read from its key, not kept again).
 */
class Entry implements Connection {
  closed = false;

  constructor(
    private readonly registry: ConnectionRegistry,
    readonly key: ResolvedKey,
    readonly socket: Socket,
  ) {}

  get role(): TrackedRole {
    return trackedRole(this.key.identity) ?? "USER";
  }

  get id(): string {
    const { identity } = this.key;
    return (identity.role === "ADMIN" ? identity.user?.id : identity.id) ?? "";
  }

  async recheck(): Promise<boolean> {
    await this.registry.recheckEntry(this);
    return !this.closed;
  }

  remove(): void {
    this.registry.removeEntry(this);
  }
}

/** The admin key is configuration: it cannot be rotated or deleted at run time. */
const UNTRACKED: Connection = { recheck: async () => true, remove: () => {} };

const identityKey = (role: string, id: string) => `${role}:${id}`;
/** The kinds an identity notification names. */
const ROLE_OF_KIND = new Map<string, TrackedRole>([
  ["generator", "GENERATOR"],
  ["agent", "AGENT"],
  ["user", "USER"],
]);

/**
 * Open websockets by identity. A websocket authenticates once, at connection_init; this makes a
 * rotated or deleted key, or a deactivated agent, end its sockets on every broker: each broker
 * hears the identity notification (migration 0005) and re-reads the key; after a LISTEN
 * reconnect it re-reads every connected identity, since notifications were lost meanwhile.
 * Keys are compared by their stored hash only. Entries are kept by role, then by the identity's
 * id (no key string of their own per identity), one bare entry per identity until it has two.
 */
export class ConnectionRegistry {
  private readonly byRole: Record<TrackedRole, Map<string, SmallSet<Entry>>> = {
    GENERATOR: new Map(),
    AGENT: new Map(),
    USER: new Map(),
  };
  /** Per-operation re-checks arriving together (a reconnect storm) share one statement. */
  private readonly rechecks = new Batcher<Entry, undefined>(async (entries) => {
    await this.verify(entries);
    return entries.map(() => undefined);
  });

  constructor(private readonly db: Db) {}

  add(key: ResolvedKey, socket: Socket): Connection {
    if (!trackedRole(key.identity)) return UNTRACKED;
    const entry = new Entry(this, key, socket);
    addTo(this.byRole[entry.role], entry.id, entry);
    return entry;
  }

  /** Entry.recheck: re-checks arriving together share one statement. */
  async recheckEntry(entry: Entry): Promise<void> {
    await this.rechecks.load(entry);
  }

  removeEntry(entry: Entry): void {
    removeFrom(this.byRole[entry.role], entry.id, entry);
  }

  get size(): number {
    let n = 0;
    for (const map of Object.values(this.byRole)) for (const slot of map.values()) n += sizeOf(slot);
    return n;
  }

  /** An identity notification: `generator:<id>`, `agent:<id>` or `user:<id>`. */
  identityChanged(payload: string): void {
    const [kind, id] = payload.split(":");
    const role = ROLE_OF_KIND.get(kind ?? "");
    if (!id || !role) return;
    const entries = valuesOf(this.byRole[role].get(id));
    if (entries.length > 0) this.verifyInBackground(entries);
  }

  /** After a LISTEN reconnect: every connected identity, in one statement. */
  recheckAll(): void {
    const all = Object.values(this.byRole).flatMap((map) => [...map.values()].flatMap((slot) => valuesOf(slot)));
    if (all.length > 0) this.verifyInBackground(all);
  }

  private verifyInBackground(entries: readonly Entry[]): void {
    this.verify(entries).catch((err) => log.error({ err }, "re-checking connected identities failed"));
  }

  private async verify(entries: readonly Entry[]): Promise<void> {
    const ids = (role: string) => [...new Set(entries.filter((e) => e.role === role).map((e) => e.id))];
    const states = await liveKeyStates(this.db, ids("GENERATOR"), ids("AGENT"), ids("USER"));
    const byKey = new Map(states.map((s) => [identityKey(s.role, s.id), s]));
    for (const entry of entries) this.apply(entry, byKey.get(identityKey(entry.role, entry.id)));
  }

  private apply(entry: Entry, state: KeyState | undefined): void {
    if (entry.closed) return;
    if (!state?.pakHash || !hashesEqual(state.pakHash, entry.key.pakHash)) {
      this.close(entry, CLOSE_REVOKED, "PAK revoked");
    } else if (entry.key.active && !state.active) {
      this.close(entry, CLOSE_DEACTIVATED, "Agent deactivated");
    } else {
      entry.key.active = state.active;
    }
  }

  private close(entry: Entry, code: number, reason: string): void {
    entry.closed = true;
    log.info({ role: entry.role, id: entry.id, code }, "closing a websocket whose identity no longer holds");
    entry.socket.close(code, reason);
    // Nothing is sent once closing; a client that never answers the close frame is cut off.
    setTimeout(() => entry.socket.terminate(), TERMINATE_AFTER_MS).unref();
    this.removeEntry(entry);
  }
}
