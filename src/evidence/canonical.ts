import { createHash } from "node:crypto";
import canonicalize from "canonicalize";

/**
 * RFC 8785 (JSON Canonicalization Scheme): sorted keys, ECMAScript number form, minimal string
 * escapes. The stored JSONB reorders keys and respaces, so a packet is always re-canonicalised
 * from its content when verified, never compared as stored text.
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError("evidence content must be JSON (no undefined, functions or symbols at the top)");
  return text;
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
