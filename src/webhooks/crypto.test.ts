import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createCipher, DecryptError, signatureHeaders, verifySignature } from "./crypto.js";

describe("webhook secret encryption", () => {
  const cipher = createCipher(randomBytes(32));

  it("round-trips a value in the versioned format without its plain text", () => {
    const stored = cipher.encrypt("https://hooks.example/abc?token=s3cret", "id-1:url");
    expect(stored).toMatch(/^v1:[0-9a-f]{8}:/);
    expect(stored).not.toContain("s3cret");
    expect(cipher.decrypt(stored, "id-1:url")).toBe("https://hooks.example/abc?token=s3cret");
  });

  it("uses a fresh IV, so equal values encrypt differently", () => {
    expect(cipher.encrypt("same", "c")).not.toBe(cipher.encrypt("same", "c"));
  });

  it("refuses a value moved to another row or column", () => {
    const stored = cipher.encrypt("Bearer x", "id-1:auth_header");
    expect(() => cipher.decrypt(stored, "id-2:auth_header")).toThrow(DecryptError);
    expect(() => cipher.decrypt(stored, "id-1:url")).toThrow(DecryptError);
  });

  it("refuses a tampered ciphertext and names another key's values as such", () => {
    const stored = cipher.encrypt("value", "c");
    const parts = stored.split(":");
    parts[4] = Buffer.from("other").toString("base64url");
    expect(() => cipher.decrypt(parts.join(":"), "c")).toThrow("authentication failed");
    expect(() => createCipher(randomBytes(32)).decrypt(stored, "c")).toThrow("written under another key");
    expect(() => cipher.decrypt("plain text", "c")).toThrow("unknown format");
  });

  it("refuses a key that is not 32 bytes", () => {
    expect(() => createCipher(randomBytes(16))).toThrow();
  });
});

describe("webhook signatures", () => {
  it("verifies a fresh signature and refuses a changed body, another secret or a stale timestamp", () => {
    const now = 1_800_000_000;
    const headers = signatureHeaders("secret-1", '{"a":1}', now);
    const given = { signature: headers["X-Brokkr-Signature-256"], timestamp: headers["X-Brokkr-Timestamp"] };
    expect(verifySignature("secret-1", '{"a":1}', given, now + 10)).toBe(true);
    expect(verifySignature("secret-1", '{"a":2}', given, now)).toBe(false);
    expect(verifySignature("secret-2", '{"a":1}', given, now)).toBe(false);
    expect(verifySignature("secret-1", '{"a":1}', given, now + 301)).toBe(false);
  });
});
