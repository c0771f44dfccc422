import type { Db } from "../db/client.js";
import { mintPak } from "./pak.js";

const ADMIN_PAK_KEY = "admin_pak_hash";

export interface AdminPakBootstrap {
  hash: string;
  /** Set only on the start that minted it: the PAK to print once. */
  mintedPak?: string;
}

/**
 * The admin PAK's hash: from configuration when given; else the one stored on a previous start;
 * else a new PAK is minted and stored. Several brokers starting at once agree on one PAK: the
 * insert loses on conflict and the loser reads the winner's hash (and prints nothing).
 */
export async function bootstrapAdminPak(db: Db, configuredHash?: string): Promise<AdminPakBootstrap> {
  if (configuredHash) return { hash: configuredHash };
  const stored = await db.brokerSetting.findUnique({ where: { key: ADMIN_PAK_KEY } });
  if (stored) return { hash: stored.value };
  const minted = mintPak();
  const inserted = await db.brokerSetting.createMany({
    data: [{ key: ADMIN_PAK_KEY, value: minted.hash }],
    skipDuplicates: true,
  });
  if (inserted.count === 1) return { hash: minted.hash, mintedPak: minted.pak };
  const winner = await db.brokerSetting.findUniqueOrThrow({ where: { key: ADMIN_PAK_KEY } });
  return { hash: winner.value };
}
