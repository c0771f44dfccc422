import type { UserRole } from "./identity.js";
import { queryRows, type Db } from "../db/client.js";

export type LiveIdentityRow =
  | { role: "GENERATOR" | "AGENT"; id: string; pak_hash: string; active: boolean; user_role: null }
  | { role: "USER"; id: string; pak_hash: string; active: boolean; user_role: UserRole };

/**
 * The live generators, agents and users holding these PAK hashes: one round trip for many keys.
 * This and liveKeyStates run by plain pg (queryRows): a reconnect storm batches thousands of
 * keys into them, and Prisma's engine spent more CPU on those rows than the rest of the storm.
 */
export async function findLiveIdentitiesByPakHashes(db: Db, hashes: string[]): Promise<LiveIdentityRow[]> {
  return queryRows<LiveIdentityRow>(
    db,
    `SELECT 'GENERATOR' AS role, id, pak_hash, true AS active, NULL AS user_role FROM generators
      WHERE pak_hash = ANY($1::text[]) AND deleted_at IS NULL
     UNION ALL
     SELECT 'AGENT' AS role, id, pak_hash, status = 'ACTIVE' AS active, NULL FROM agents
      WHERE pak_hash = ANY($1::text[]) AND deleted_at IS NULL
     UNION ALL
     SELECT 'USER' AS role, id, pak_hash, true, role::text FROM users
      WHERE pak_hash = ANY($1::text[]) AND deleted_at IS NULL`,
    [hashes],
  );
}

export interface KeyState {
  role: "GENERATOR" | "AGENT" | "USER";
  id: string;
  pakHash: string | null;
  /** Agents: status ACTIVE; generators: always true. */
  active: boolean;
}

/** The current key of live generators, agents and users by id (deleted or unknown ids are absent). */
export async function liveKeyStates(
  db: Db,
  generatorIds: string[],
  agentIds: string[],
  userIds: string[] = [],
): Promise<KeyState[]> {
  if (generatorIds.length === 0 && agentIds.length === 0 && userIds.length === 0) return [];
  const rows = await queryRows<{ role: KeyState["role"]; id: string; pak_hash: string | null; active: boolean }>(
    db,
    `SELECT 'GENERATOR' AS role, id, pak_hash, true AS active FROM generators
      WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL
     UNION ALL
     SELECT 'AGENT' AS role, id, pak_hash, status = 'ACTIVE' AS active FROM agents
      WHERE id = ANY($2::uuid[]) AND deleted_at IS NULL
     UNION ALL
     SELECT 'USER' AS role, id, pak_hash, true AS active FROM users
      WHERE id = ANY($3::uuid[]) AND deleted_at IS NULL`,
    [generatorIds, agentIds, userIds],
  );
  return rows.map((r) => ({ role: r.role, id: r.id, pakHash: r.pak_hash, active: r.active }));
}

export async function findBrokerSetting(db: Db, key: string): Promise<string | null> {
  return (await db.brokerSetting.findUnique({ where: { key } }))?.value ?? null;
}

/** Inserts the setting unless one exists; true when this call inserted it. */
export async function insertBrokerSettingIfAbsent(db: Db, key: string, value: string): Promise<boolean> {
  const { count } = await db.brokerSetting.createMany({ data: [{ key, value }], skipDuplicates: true });
  return count === 1;
}
