import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import bs58 from "bs58";
import { hashesEqual, hashLongToken, mintPak, parsePak } from "./pak.js";

const BASE58 = "1-9A-HJ-NP-Za-km-z";
const BROKKR_DEV_PAK = "brokkr_BR3rVsDa_GK3QN7CDUzYc6iKgMkJ98M2WSimM5t6U8";
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

describe("PAKs", () => {
  it("mints PAKs in Brokkr's shape: BR plus 6 base58 characters, then base58 of 24 bytes", () => {
    for (let i = 0; i < 200; i++) {
      const { pak } = mintPak();
      const [prefix, short, long] = pak.split("_");
      expect(prefix).toBe("brokkr");
      expect(short).toMatch(new RegExp(`^BR[${BASE58}]{6}$`));
      expect(long).toMatch(new RegExp(`^[${BASE58}]{24,34}$`));
      expect(bs58.decode(long!)).toHaveLength(24);
    }
  });

  it("accepts Brokkr's public dev PAK and hashes its third part", () => {
    expect(parsePak(BROKKR_DEV_PAK)).toBe(sha256("GK3QN7CDUzYc6iKgMkJ98M2WSimM5t6U8"));
    expect(parsePak(`Bearer ${BROKKR_DEV_PAK}`)).toBe(sha256("GK3QN7CDUzYc6iKgMkJ98M2WSimM5t6U8"));
  });

  it("keeps accepting keys minted earlier in the 8-character short-token shape", () => {
    expect(parsePak("brokkr_BRabcd1234_0123456789abcdefghijklmnop")).toBe(sha256("0123456789abcdefghijklmnop"));
  });

  it("mints a different PAK each time", () => {
    const paks = new Set(Array.from({ length: 50 }, () => mintPak().pak));
    expect(paks.size).toBe(50);
  });

  it("stores the SHA-256 hex of the long token only", () => {
    const { pak, hash } = mintPak();
    const longToken = pak.split("_")[2]!;
    expect(hash).toBe(sha256(longToken));
    expect(hashLongToken(longToken)).toBe(hash);
    expect(hash).not.toContain(longToken);
  });

  it("accepts a bare PAK and a Bearer PAK alike", () => {
    const { pak, hash } = mintPak();
    expect(parsePak(pak)).toBe(hash);
    expect(parsePak(`Bearer ${pak}`)).toBe(hash);
    expect(parsePak(`bearer   ${pak}  `)).toBe(hash);
  });

  it.each([
    ["nothing", undefined],
    ["an empty string", ""],
    ["a bare word", "Bearer"],
    ["a wrong prefix", "brokr_BRabcdefgh_abcdefghijklmnopqrstuvwxyz123456"],
    ["a short token of 7 characters", "brokkr_BRabcdefg_abcdefghijklmnopqrstuvwxyz123456"],
    ["a 6-character short token with a non-base58 character", "brokkr_BR3rVs0a_GK3QN7CDUzYc6iKgMkJ98M2WSimM5t6U8"],
    ["a short token without BR", "brokkr_XX3rVsDa_GK3QN7CDUzYc6iKgMkJ98M2WSimM5t6U8"],
    ["four parts", "brokkr_BR3rVsDa_GK3QN7CDUzYc6iKgMkJ98M2WSimM5t6U8_x"],
    ["two parts", "brokkr_BR3rVsDaGK3QN7CDUzYc6iKgMkJ98M2WSimM5t6U8"],
    ["a long token that is too short", "brokkr_BRabcdefgh_abc"],
    ["punctuation in the long token", "brokkr_BRabcdefgh_abcdefghijklmnopqrstuvwxyz12345!"],
    ["a second PAK glued on", `${"brokkr_BRabcdefgh_abcdefghijklmnopqrstuvwxyz123456"} extra`],
    ["a Basic scheme", "Basic brokkr_BRabcdefgh_abcdefghijklmnopqrstuvwxyz123456"],
  ])("refuses %s", (_, raw) => {
    expect(parsePak(raw)).toBeNull();
  });

  it("compares hashes by value", () => {
    const a = mintPak().hash;
    const b = mintPak().hash;
    expect(hashesEqual(a, a)).toBe(true);
    expect(hashesEqual(a, `${a}`.toUpperCase())).toBe(true);
    expect(hashesEqual(a, b)).toBe(false);
    expect(hashesEqual(a, a.slice(0, 62))).toBe(false);
    expect(hashesEqual("", "")).toBe(false);
  });
});
