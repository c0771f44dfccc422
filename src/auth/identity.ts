import type { Db } from "../db/client.js";
import { hashesEqual, parsePak } from "./pak.js";

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
      // One round trip for both tables; each side is a partial-index lookup over live rows.
      const rows = await db.$queryRaw<{ role: "GENERATOR" | "AGENT"; id: string; pak_hash: string }[]>`
        SELECT 'GENERATOR' AS role, id, pak_hash FROM generators WHERE pak_hash = ${hash} AND deleted_at IS NULL
        UNION ALL
        SELECT 'AGENT' AS role, id, pak_hash FROM agents WHERE pak_hash = ${hash} AND deleted_at IS NULL
        LIMIT 1`;
      const row = rows[0];
      if (row && hashesEqual(row.pak_hash, hash)) return { role: row.role, id: row.id } as Identity;
      return null;
    },
  };
}
