import type { Db } from "../db/client.js";
import { mintPak } from "./pak.js";
import { findBrokerSetting, insertBrokerSettingIfAbsent } from "./store.js";

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
  const stored = await findBrokerSetting(db, ADMIN_PAK_KEY);
  if (stored) return { hash: stored };
  const minted = mintPak();
  if (await insertBrokerSettingIfAbsent(db, ADMIN_PAK_KEY, minted.hash)) return { hash: minted.hash, mintedPak: minted.pak };
  const winner = await findBrokerSetting(db, ADMIN_PAK_KEY);
  if (!winner) throw new Error("the admin PAK hash vanished while brokers were starting");
  return { hash: winner };
}
