import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/*
 * Webhook secrets at rest: AES-256-GCM with a fresh 96-bit IV per value, stored as text
 * `v1:<key id>:<iv>:<tag>:<ciphertext>` (base64url parts). The key id (first 8 hex digits of
 * the key's SHA-256) says which key wrote a value, so a broker started with another key reports
 * "written under another key" instead of a bare authentication failure. The additional data
 * binds each value to its row and column ("<subscription id>:url"), so a ciphertext pasted into
 * another row or column does not decrypt.
 */
const VERSION = "v1";
const IV_BYTES = 12;

export class DecryptError extends Error {
  constructor(reason: string) {
    super(`webhook secret could not be decrypted: ${reason}`);
    this.name = "DecryptError";
  }
}

export interface Cipher {
  readonly keyId: string;
  encrypt(plain: string, context: string): string;
  decrypt(stored: string, context: string): string;
}

export function keyIdOf(key: Buffer): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 8);
}

export function createCipher(key: Buffer): Cipher {
  if (key.length !== 32) throw new Error("the webhook encryption key must be 32 bytes");
  const keyId = keyIdOf(key);
  return {
    keyId,
    encrypt(plain, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      cipher.setAAD(Buffer.from(context, "utf8"));
      const ct = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
      const parts = [iv, cipher.getAuthTag(), ct].map((b) => b.toString("base64url"));
      return [VERSION, keyId, ...parts].join(":");
    },
    decrypt(stored, context) {
      const [version, id, iv, tag, ct, ...rest] = stored.split(":");
      if (version !== VERSION || rest.length > 0 || iv === undefined || tag === undefined || ct === undefined)
        throw new DecryptError("unknown format");
      if (id !== keyId) throw new DecryptError("written under another key");
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
        decipher.setAAD(Buffer.from(context, "utf8"));
        decipher.setAuthTag(Buffer.from(tag, "base64url"));
        return Buffer.concat([decipher.update(Buffer.from(ct, "base64url")), decipher.final()]).toString("utf8");
      } catch {
        throw new DecryptError("authentication failed");
      }
    },
  };
}

/** A new signing secret: 32 random bytes, prefixed so it is recognisable in a secret scanner. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString("base64url")}`;
}

export const SIGNATURE_HEADER = "X-Brokkr-Signature-256";
export const TIMESTAMP_HEADER = "X-Brokkr-Timestamp";

/**
 * The signature headers of one POST: HMAC-SHA256 under the subscription's secret over
 * `<timestamp>.<body>`, so a receiver that checks the timestamp's age refuses replays.
 */
export function signatureHeaders(secret: string, body: string, timestampSeconds: number): Record<string, string> {
  const mac = createHmac("sha256", secret).update(`${timestampSeconds}.${body}`).digest("hex");
  return { [SIGNATURE_HEADER]: `sha256=${mac}`, [TIMESTAMP_HEADER]: String(timestampSeconds) };
}

/** How a receiver verifies (documented in the README; the tests use it as a receiver would). */
export function verifySignature(
  secret: string,
  body: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const ts = Number(headers.timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowSeconds - ts) > toleranceSeconds || !headers.signature) return false;
  const expected = Buffer.from(signatureHeaders(secret, body, ts)[SIGNATURE_HEADER] ?? "");
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
