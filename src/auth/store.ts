import type { Db } from "../db/client.js";

/** The live generator or agent holding a PAK hash: one round trip, a partial-index lookup per table. */
export async function findLiveIdentityByPakHash(db: Db, hash: string) {
  const rows = await db.$queryRaw<{ role: "GENERATOR" | "AGENT"; id: string; pak_hash: string }[]>`
    SELECT 'GENERATOR' AS role, id, pak_hash FROM generators WHERE pak_hash = ${hash} AND deleted_at IS NULL
    UNION ALL
    SELECT 'AGENT' AS role, id, pak_hash FROM agents WHERE pak_hash = ${hash} AND deleted_at IS NULL
    LIMIT 1`;
  return rows[0];
}

export async function findBrokerSetting(db: Db, key: string): Promise<string | null> {
  return (await db.brokerSetting.findUnique({ where: { key } }))?.value ?? null;
}

/** Inserts the setting unless one exists; true when this call inserted it. */
export async function insertBrokerSettingIfAbsent(db: Db, key: string, value: string): Promise<boolean> {
  const { count } = await db.brokerSetting.createMany({ data: [{ key, value }], skipDuplicates: true });
  return count === 1;
}
