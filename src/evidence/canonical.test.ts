import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, configFrom } from "../config.js";
import { canonicalJson, sha256Hex } from "./canonical.js";
import { generateSigner, signerFromPem, signingKeyId } from "./keys.js";

describe("canonical evidence JSON (RFC 8785)", () => {
  it("sorts keys by UTF-16 code units, prints numbers as ECMAScript does and escapes minimally", () => {
    const value = { b: [1e21, 0.1, -0, 4.5e-7], a: "\u2028é\n", "\u20ac": 1, "\r": 2, aa: { z: null, y: true } };
    expect(canonicalJson(value)).toBe('{"\\r":2,"a":"\u2028é\\n","aa":{"y":true,"z":null},"b":[1e+21,0.1,0,4.5e-7],"€":1}');
  });

  it("gives one text, hence one hash, for the same content in any key order", () => {
    expect(sha256Hex(canonicalJson({ x: 1, y: [2, { b: 1, a: 2 }] }))).toBe(
      sha256Hex(canonicalJson({ y: [2, { a: 2, b: 1 }], x: 1 })),
    );
  });

  it("refuses what is not JSON", () => {
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
  });
});

describe("evidence signing keys", () => {
  it("names a key by the first 16 hex digits of its SPKI SHA-256, the same from its PEM", () => {
    const { signer, privateKeyPem } = generateSigner();
    expect(signer.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(signerFromPem(privateKeyPem).keyId).toBe(signer.keyId);
    expect(signingKeyId(generateKeyPairSync("ed25519").publicKey)).not.toBe(signer.keyId);
  });

  it("refuses a configured key that is not an Ed25519 PKCS#8 PEM, naming the variable", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" });
    for (const value of [rsa.toString(), "not a key"]) {
      try {
        configFrom({ BROKKR__RELEASES__SIGNING_KEY: value });
        expect.unreachable("an invalid key must be refused");
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).problems).toEqual([
          "BROKKR__RELEASES__SIGNING_KEY: must be an Ed25519 private key in PKCS#8 PEM",
        ]);
      }
    }
  });
});
