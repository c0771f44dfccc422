import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import bs58 from "bs58";

/*
 * Brokkr's PAK format (its Rust `prefixed-api-key` crate, reference/brokkr.md §1.2), so keys it
 * issued and its tools keep working: `brokkr_<short>_<long>`, where the short token is 8
 * characters including `BR` (`BR` + 6 base58) and the long token is base58 of 24 random bytes.
 * Keys minted by earlier versions of this broker carry `BR` + 8 alphanumerics; they stay valid.
 * Brokkr verifies by stripping `Bearer `, trimming, requiring three `_`-separated parts and hashing
 * the third; we do the same, and refuse before any database access what no issuer ever minted.
 */
const PREFIX = "brokkr";
const SHORT_TOKEN = /^BR(?:[1-9A-HJ-NP-Za-km-z]{6}|[A-Za-z0-9]{8})$/;
// base58 of 24 bytes is 32–33 characters (fewer only with leading zero bytes, written as '1').
const LONG_TOKEN = /^[A-Za-z0-9]{24,128}$/;
const SHORT_TOKEN_LENGTH = 8;
const LONG_TOKEN_BYTES = 24;

export interface MintedPak {
  pak: string;
  /** SHA-256 hex of the long token: the only part ever stored. */
  hash: string;
}

export function hashLongToken(longToken: string): string {
  return createHash("sha256").update(longToken).digest("hex");
}

/** A new PAK in Brokkr's shape, from the CSPRNG. */
export function mintPak(): MintedPak {
  // As Brokkr: "BR" + base58 of 8 random bytes, cut to 8 characters in all.
  const shortToken = `BR${bs58.encode(randomBytes(8))}`.slice(0, SHORT_TOKEN_LENGTH);
  const longToken = bs58.encode(randomBytes(LONG_TOKEN_BYTES));
  return { pak: `${PREFIX}_${shortToken}_${longToken}`, hash: hashLongToken(longToken) };
}

/** The long token's hash, or null when the string is not a well-formed PAK (no database access). */
export function parsePak(raw: string | undefined | null): string | null {
  if (!raw) return null;
  const bare = raw.trim().replace(/^Bearer\s+/i, "");
  // A missing part is empty, which neither token pattern accepts.
  const [prefix, shortToken = "", longToken = "", ...more] = bare.split("_");
  if (prefix !== PREFIX || more.length > 0 || !SHORT_TOKEN.test(shortToken) || !LONG_TOKEN.test(longToken)) return null;
  return hashLongToken(longToken);
}

export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
