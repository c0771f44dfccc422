import { describe, expect, it } from "vitest";
import { GENESIS_HASH, ChainVerifier, canonicalJson } from "./chain.js";
import { chainRows } from "./writer.js";

const entry = (action: string) => ({
  at: new Date("2026-01-01T00:00:00.123Z"),
  actorType: "admin",
  actorId: null,
  action,
  resourceType: "stack",
  resourceId: null,
  details: { b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } },
  ipAddress: "127.0.0.1",
  userAgent: null,
});

describe("the audit hash chain", () => {
  it("serialises details with sorted keys, so JSONB's reordering changes nothing", () => {
    expect(canonicalJson({ b: 1, a: { y: 2, x: [{ d: 1, c: 2 }] } })).toBe('{"a":{"x":[{"c":2,"d":1}],"y":2},"b":1}');
  });

  it("chains each row to the one before and verifies an untouched chain", () => {
    const rows = chainRows([entry("a.created"), entry("b.created")], new Map(), 0n, GENESIS_HASH);
    expect(rows.map((r) => r.seq)).toEqual([1n, 2n]);
    expect(rows[1]?.prevHash).toBe(rows[0]?.hash);
    const v = new ChainVerifier({ seq: 1n, prevHash: GENESIS_HASH });
    expect(rows.every((r) => v.next(r))).toBe(true);
    expect(v.finish({ seq: 2n, hash: rows[1]?.hash as string })).toBeNull();
  });

  it("finds an edited row, a missing row and a missing tail", () => {
    const rows = chainRows([entry("a"), entry("b"), entry("c")], new Map(), 0n, GENESIS_HASH);
    const [r1, r2, r3] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
    const edited = new ChainVerifier({ seq: 1n, prevHash: GENESIS_HASH });
    edited.next(r1);
    edited.next({ ...r2, action: "x" });
    expect(edited.broken).toMatchObject({ seq: 2n, reason: "HASH_MISMATCH" });
    const gap = new ChainVerifier({ seq: 1n, prevHash: GENESIS_HASH });
    gap.next(r1);
    gap.next(r3);
    expect(gap.broken).toMatchObject({ seq: 2n, reason: "SEQUENCE_GAP" });
    const tail = new ChainVerifier({ seq: 1n, prevHash: GENESIS_HASH });
    tail.next(r1);
    tail.next(r2);
    expect(tail.finish({ seq: 3n, hash: r3.hash })).toMatchObject({ seq: 3n, reason: "HEAD_MISMATCH" });
    const start = new ChainVerifier({ seq: 1n, prevHash: GENESIS_HASH });
    start.next(r2);
    expect(start.broken).toMatchObject({ reason: "BASE_MISMATCH" });
  });
});
