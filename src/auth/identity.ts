import type { Db } from "../db/client.js";
import { hashesEqual, parsePak } from "./pak.js";
import { findLiveIdentityByPakHash } from "./store.js";

export type Identity =
  | { role: "ADMIN"; id: null }
  | { role: "GENERATOR"; id: string }
  | { role: "AGENT"; id: string };

export interface IdentityResolver {
  /** The caller behind an Authorization value, or null when it is missing, malformed or unknown. */
  resolve(authorization: string | undefined | null): Promise<Identity | null>;
}

/**
 * Looks a PAK up by its hash among live generators and agents (partial indexes), and compares
 * hashes in constant time. The admin PAK's hash comes from configuration or first start.
 */
export function createIdentityResolver(db: Db, adminPakHash: () => string | undefined): IdentityResolver {
  return {
    async resolve(authorization) {
      const hash = parsePak(authorization);
      if (!hash) return null;
      const admin = adminPakHash();
      if (admin && hashesEqual(admin, hash)) return { role: "ADMIN", id: null };
      const row = await findLiveIdentityByPakHash(db, hash);
      if (row && hashesEqual(row.pak_hash, hash)) return { role: row.role, id: row.id } as Identity;
      return null;
    },
  };
}
