import { Batcher } from "../db/batcher.js";
import type { Database } from "../db/client.js";
import { addTo, removeFrom, valuesOf, type SmallSet } from "../small-set.js";
import type { UserRole } from "./identity.js";
import { findLiveIdentitiesByPakHashes, type LiveIdentityRow } from "./store.js";

/** Brokkr caches verified keys for 60 s; revocation does not wait for that (see forget). */
export const IDENTITY_CACHE_TTL_MS = 60_000;
const MAX_ENTRIES = 100_000;

type Role = LiveIdentityRow["role"];
const ROLES: Record<Role, Role> = { GENERATOR: "GENERATOR", AGENT: "AGENT", USER: "USER" };
const USER_ROLES: Record<UserRole, UserRole> = { ADMIN: "ADMIN", APPROVER: "APPROVER", VIEWER: "VIEWER" };

/**
 * A cached row: one object literal with every field (fast properties, no property array). The
 * database gives every row strings of its own; this keeps the hash it was looked up by (the
 * row's hash is that one, or it would not have matched) and the code's role strings.
 */
type Cached = LiveIdentityRow & { readonly expires: number };
const cachedOf = (hash: string, row: LiveIdentityRow, expires: number) =>
  ({
    role: ROLES[row.role],
    id: row.id,
    pak_hash: hash,
    active: row.active,
    user_role: row.user_role && USER_ROLES[row.user_role],
    expires,
  }) as Cached;

/**
 * Verified PAK hashes → their live generator, agent or user, for up to 60 s, so a request does not
 * look its key up each time. Revocation still takes effect at once: every change to a key,
 * a deletion or an agent's status forgets that identity here, locally through `forgetIdentity`
 * right after the write commits and on every broker through the `brokkr_identities`
 * notification (migration 0005); after a LISTEN reconnect everything is forgotten, since
 * notifications were lost. A lookup that was running when something was forgotten does not
 * populate the cache (the generation check), so a read from before a revocation cannot be
 * cached after it. Misses arriving together share one statement (a reconnect storm of
 * thousands of agents is a handful of queries). Unknown keys are never cached. Expired entries
 * are swept (one timer, for the oldest), so an idle broker does not keep keys looked up once.
 */
export class IdentityCache {
  /** In order of expiry: each entry is (re)inserted when it is remembered, and the TTL is fixed. */
  private readonly byHash = new Map<string, Cached>();
  /** By role, then id: the hashes cached for that identity (almost always one). */
  private readonly hashesOf: Record<Role, Map<string, SmallSet<string>>> = {
    GENERATOR: new Map(),
    AGENT: new Map(),
    USER: new Map(),
  };
  private generation = 0;
  private readonly misses: Batcher<string, LiveIdentityRow | null>;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    db: Database,
    private readonly ttlMs = IDENTITY_CACHE_TTL_MS,
  ) {
    this.misses = new Batcher(async (hashes) => {
      const rows = new Map((await findLiveIdentitiesByPakHashes(db, hashes)).map((r) => [r.pak_hash, r]));
      return hashes.map((h) => rows.get(h) ?? null);
    });
    caches.set(db, [...(caches.get(db) ?? []).filter((r) => r.deref()), new WeakRef(this)]);
  }

  async lookup(hash: string): Promise<LiveIdentityRow | null> {
    const hit = this.byHash.get(hash);
    if (hit && hit.expires > Date.now()) return hit;
    if (hit) this.drop(hash, hit);
    const generation = this.generation;
    const row = await this.misses.load(hash);
    if (!row || generation !== this.generation) return row;
    return this.remember(hash, row);
  }

  /** `generator:<id>` / `agent:<id>` / `user:<id>`, as the identity notification carries it. */
  forgetPayload(payload: string): void {
    const [kind, id] = payload.split(":");
    if (kind && id) this.forget(kind, id);
  }

  forget(role: string, id: string): void {
    this.generation++;
    const hashes = this.hashesOf[role.toUpperCase() as Role];
    if (!hashes) return;
    for (const hash of valuesOf(hashes.get(id))) this.byHash.delete(hash);
    hashes.delete(id);
  }

  clear(): void {
    this.generation++;
    this.byHash.clear();
    for (const hashes of Object.values(this.hashesOf)) hashes.clear();
  }

  get size(): number {
    return this.byHash.size;
  }

  private remember(hash: string, row: LiveIdentityRow): Cached {
    if (this.byHash.size >= MAX_ENTRIES) this.clear();
    const cached = cachedOf(hash, row, Date.now() + this.ttlMs);
    const previous = this.byHash.get(hash);
    if (previous) this.drop(hash, previous); // re-inserted at the end, keeping the expiry order
    this.byHash.set(hash, cached);
    addTo(this.hashesOf[cached.role], cached.id, hash);
    this.sweeper ??= this.sweepAt(cached.expires);
    return cached;
  }

  private drop(hash: string, row: Cached): void {
    this.byHash.delete(hash);
    removeFrom(this.hashesOf[row.role], row.id, hash);
  }

  /** Drops the expired entries (the oldest first) and waits for the next to expire. */
  private sweep(): void {
    this.sweeper = null;
    const now = Date.now();
    for (const [hash, cached] of this.byHash) {
      if (cached.expires > now) {
        this.sweeper = this.sweepAt(cached.expires);
        return;
      }
      this.drop(hash, cached);
    }
  }

  private sweepAt(expires: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.sweep(), Math.max(0, expires - Date.now()) + 1);
    timer.unref();
    return timer;
  }
}

/** This process's caches by the database client they read through (one per broker). */
const caches = new WeakMap<object, WeakRef<IdentityCache>[]>();

/**
 * Call right after a write that changes an identity's key, deletion or status has committed,
 * with the client that wrote it: that broker's cache forgets the identity at once (the others
 * hear the notification).
 */
export function forgetIdentity(db: Database, role: "GENERATOR" | "AGENT" | "USER", id: string): void {
  for (const ref of caches.get(db) ?? []) ref.deref()?.forget(role, id);
}
