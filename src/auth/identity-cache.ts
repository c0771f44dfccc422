import { Batcher } from "../db/batcher.js";
import type { Database } from "../db/client.js";
import { findLiveIdentitiesByPakHashes, type LiveIdentityRow } from "./store.js";

/** Brokkr caches verified keys for 60 s; revocation does not wait for that (see forget). */
export const IDENTITY_CACHE_TTL_MS = 60_000;
const MAX_ENTRIES = 100_000;

interface Entry {
  row: LiveIdentityRow;
  expires: number;
}

const identityKey = (role: string, id: string) => `${role.toUpperCase()}:${id}`;

/**
 * Verified PAK hashes → their live generator, agent or user, for up to 60 s, so a request does not
 * look its key up each time. Revocation still takes effect at once: every change to a key,
 * a deletion or an agent's status forgets that identity here, locally through `forgetIdentity`
 * right after the write commits and on every broker through the `brokkr_identities`
 * notification (migration 0005); after a LISTEN reconnect everything is forgotten, since
 * notifications were lost. A lookup that was running when something was forgotten does not
 * populate the cache (the generation check), so a read from before a revocation cannot be
 * cached after it. Misses arriving together share one statement (a reconnect storm of
 * thousands of agents is a handful of queries). Unknown keys are never cached.
 */
export class IdentityCache {
  private readonly byHash = new Map<string, Entry>();
  private readonly hashesOf = new Map<string, Set<string>>();
  private generation = 0;
  private readonly misses: Batcher<string, LiveIdentityRow | null>;

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
    if (hit && hit.expires > Date.now()) return hit.row;
    if (hit) this.drop(hash, hit.row);
    const generation = this.generation;
    const row = await this.misses.load(hash);
    if (row && generation === this.generation) this.remember(hash, row);
    return row;
  }

  /** `generator:<id>` / `agent:<id>` / `user:<id>`, as the identity notification carries it. */
  forgetPayload(payload: string): void {
    const [kind, id] = payload.split(":");
    if (kind && id) this.forget(kind, id);
  }

  forget(role: string, id: string): void {
    this.generation++;
    const key = identityKey(role, id);
    for (const hash of this.hashesOf.get(key) ?? []) this.byHash.delete(hash);
    this.hashesOf.delete(key);
  }

  clear(): void {
    this.generation++;
    this.byHash.clear();
    this.hashesOf.clear();
  }

  get size(): number {
    return this.byHash.size;
  }

  private remember(hash: string, row: LiveIdentityRow): void {
    if (this.byHash.size >= MAX_ENTRIES) this.clear();
    this.byHash.set(hash, { row, expires: Date.now() + this.ttlMs });
    const key = identityKey(row.role, row.id);
    let set = this.hashesOf.get(key);
    if (!set) this.hashesOf.set(key, (set = new Set()));
    set.add(hash);
  }

  private drop(hash: string, row: LiveIdentityRow): void {
    this.byHash.delete(hash);
    this.hashesOf.get(identityKey(row.role, row.id))?.delete(hash);
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
