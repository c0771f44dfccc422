import type { RequestOrigin } from "../audit/capture/origin.js";
import type { Database } from "../db/client.js";
import { IdentityCache } from "./identity-cache.js";
import { hashesEqual, parsePak } from "./pak.js";

export type UserRole = "ADMIN" | "APPROVER" | "VIEWER";
/** A person's key (migration 0016): acts as the admin; only an ADMIN user may change anything. */
export interface UserIdentity {
  id: string;
  role: UserRole;
}

export type Identity =
  | { role: "ADMIN"; id: null; user?: UserIdentity }
  | { role: "GENERATOR"; id: string }
  | { role: "AGENT"; id: string };

/** An identity with the stored hash of the key it presented (never the key itself). */
export interface ResolvedKey {
  identity: Identity;
  pakHash: string;
  /** Agents: ACTIVE when the key was checked; admin and generators: true. */
  active: boolean;
}

export interface IdentityResolver {
  /**
   * The caller behind an Authorization value, or null when it is missing, malformed or unknown.
   * `origin` names the client of a request (the audit log records its failures).
   */
  resolve(authorization: string | undefined | null, origin?: RequestOrigin): Promise<Identity | null>;
  /** As `resolve`, with the key's hash, for connections that re-check their key later. */
  resolveKey(authorization: string | undefined | null, origin?: RequestOrigin): Promise<ResolvedKey | null>;
  /** Whether `hash` is the admin key (which is configured, so never revoked at run time). */
  isAdminHash(hash: string): boolean;
  /** Verified keys (60 s), forgotten at once on a revocation (identity-cache.ts). */
  readonly cache: IdentityCache;
}

/**
 * Looks a PAK up by its hash among live generators, agents and users (partial indexes; verified
 * keys cached, see identity-cache.ts), and compares hashes in constant time. The admin PAK's hash
 * comes from configuration or first start.
 */
export function createIdentityResolver(db: Database, adminPakHash: () => string | undefined): IdentityResolver {
  const cache = new IdentityCache(db);
  const isAdminHash = (hash: string) => {
    const admin = adminPakHash();
    return admin !== undefined && hashesEqual(admin, hash);
  };
  const resolveKey = async (authorization: string | undefined | null): Promise<ResolvedKey | null> => {
    const hash = parsePak(authorization);
    if (!hash) return null;
    if (isAdminHash(hash)) return { identity: { role: "ADMIN", id: null }, pakHash: hash, active: true };
    const row = await cache.lookup(hash);
    if (!row || !hashesEqual(row.pak_hash, hash)) return null;
    if (row.role === "USER") {
      // Users read what the admin reads; policy.ts refuses every change by a read-only one.
      return { identity: { role: "ADMIN", id: null, user: { id: row.id, role: row.user_role } }, pakHash: hash, active: true };
    }
    return { identity: { role: row.role, id: row.id }, pakHash: hash, active: row.active };
  };
  return {
    cache,
    resolveKey,
    isAdminHash,
    async resolve(authorization) {
      return (await resolveKey(authorization))?.identity ?? null;
    },
  };
}
