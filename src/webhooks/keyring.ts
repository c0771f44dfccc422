import { randomBytes } from "node:crypto";
import type { Db } from "../db/client.js";
import { moduleLogger } from "../logger.js";
import { createCipher, type Cipher } from "./crypto.js";
import { insertSettingIfAbsent } from "./store.js";

const log = moduleLogger("webhooks");
const SETTING = "webhook_encryption_key";

/**
 * The cipher for webhook secrets. With BROKKR__BROKER__WEBHOOK_ENCRYPTION_KEY it uses that key.
 * Without, the first broker generates a key and keeps it in broker_settings (insert if absent,
 * then read, so racing brokers agree): several brokers share the database but not a file
 * system, and a key per process (Brokkr's old default) made every stored secret unreadable
 * after a restart. The price: a stolen database dump then holds the key too, which is why the
 * broker warns and production should set the variable.
 */
export function createKeyring(db: Db, configured: Buffer | undefined): () => Promise<Cipher> {
  let cipher: Promise<Cipher> | undefined;
  const load = async () => {
    if (configured) return createCipher(configured);
    const stored = await insertSettingIfAbsent(db, SETTING, randomBytes(32).toString("hex"));
    log.warn("BROKKR__BROKER__WEBHOOK_ENCRYPTION_KEY is not set: webhook secrets are encrypted under a key kept in the database");
    return createCipher(Buffer.from(stored, "hex"));
  };
  return () => {
    cipher ??= load().catch((err) => {
      cipher = undefined;
      throw err;
    });
    return cipher;
  };
}
