import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hashesEqual, hashLongToken, mintPak, parsePak } from "./pak.js";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

describe("PAKs", () => {
  it("mints PAKs in Brokkr's format", () => {
    const { pak } = mintPak();
    expect(pak).toMatch(/^brokkr_BR[A-Za-z0-9]{8}_[A-Za-z0-9]+$/);
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
