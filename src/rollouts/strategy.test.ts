import { describe, expect, it } from "vitest";
import { batchIndexes } from "./strategy.js";

describe("batchIndexes", () => {
  it("puts every agent in batch 0 for ALL_AT_ONCE", () => {
    expect(batchIndexes(4, { strategy: "ALL_AT_ONCE", batchSize: 1, batchPercent: null })).toEqual([0, 0, 0, 0]);
  });

  it("cuts ROLLING batches of batch_size agents", () => {
    expect(batchIndexes(5, { strategy: "ROLLING", batchSize: 2, batchPercent: null })).toEqual([0, 0, 1, 1, 2]);
  });

  it("rounds a batch_percent up to whole agents, at least one", () => {
    expect(batchIndexes(5, { strategy: "ROLLING", batchSize: null, batchPercent: 30 })).toEqual([0, 0, 1, 1, 2]);
    expect(batchIndexes(3, { strategy: "ROLLING", batchSize: null, batchPercent: 1 })).toEqual([0, 1, 2]);
    expect(batchIndexes(0, { strategy: "ROLLING", batchSize: null, batchPercent: 50 })).toEqual([]);
  });
});
