import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

// Brokkr's format, so its tools keep working: brokkr_BR<8-char short token>_<long token>.
const PAK_PATTERN = /^brokkr_BR([A-Za-z0-9]{8})_([A-Za-z0-9]{24,128})$/;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export interface MintedPak {
  pak: string;
  /** SHA-256 hex of the long token: the only part ever stored. */
  hash: string;
}

function randomToken(length: number): string {
  // Rejection sampling keeps every character uniformly likely (62 does not divide 256).
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

export function hashLongToken(longToken: string): string {
  return createHash("sha256").update(longToken).digest("hex");
}

export function mintPak(): MintedPak {
  const longToken = randomToken(32);
  return { pak: `brokkr_BR${randomToken(8)}_${longToken}`, hash: hashLongToken(longToken) };
}

/** The long token's hash, or null when the string is not a well-formed PAK (no database access). */
export function parsePak(raw: string | undefined | null): string | null {
  if (!raw) return null;
  const bare = raw.trim().replace(/^Bearer\s+/i, "");
  const longToken = PAK_PATTERN.exec(bare)?.[2];
  return longToken ? hashLongToken(longToken) : null;
}

export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
