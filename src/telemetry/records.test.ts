import { describe, expect, it } from "vitest";
import { boundBatch, boundedText } from "./records.js";

const limits = { retentionSeconds: 21_600, maxRowsPerStack: 2, maxLineBytes: 256 };
const log = (stackId: string, i: number) => ({
  stackId,
  namespace: "default",
  pod: "p",
  container: "c",
  ts: new Date(1000 + i),
  line: `l${i}`,
});

describe("boundedText", () => {
  it("drops NULs, replaces lone surrogates and cuts at a character boundary", () => {
    expect(boundedText("a\u0000b", 10)).toBe("ab");
    expect(boundedText("x\uD800y", 10)).toBe("x\uFFFDy");
    expect(boundedText("ééé", 5)).toBe("éé");
  });
});

describe("boundBatch", () => {
  it("keeps the first rows per stack up to the cap and adds one buffer_full gap per stack dated at the earliest dropped", () => {
    const batch = { events: [], gaps: [], logs: [0, 1, 2, 3].map((i) => log("s1", i)).concat([log("s2", 9)]) };
    const bounded = boundBatch(batch, limits);
    expect(bounded.logs.map((l) => `${l.stackId}:${l.line}`)).toEqual(["s1:l0", "s1:l1", "s2:l9"]);
    expect(bounded.gaps).toEqual([{ stackId: "s1", sinceTs: new Date(1002), droppedCount: 2, reason: "buffer_full" }]);
  });
});
