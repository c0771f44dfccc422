import { describe, expect, it } from "vitest";
import { BATCH_LIST_MAX, TelemetryBuffer } from "./buffer.ts";
import { parseLines } from "./pod-logs.ts";
import { TokenBucket } from "./token-bucket.ts";

const STACK = "0b7a3c52-8f7e-4a57-9d77-2a4b8f1b6c01";
const line = (i: number, container = "app") => ({
  stackId: STACK,
  namespace: "default",
  pod: "web-0",
  container,
  ts: new Date(1_000_000 + i).toISOString(),
  line: `l${i}`,
});

describe("TokenBucket", () => {
  it("allows a burst, then the rate", () => {
    const bucket = new TokenBucket(2, 2, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, false]);
    expect(bucket.take(499)).toBe(false);
    expect(bucket.take(500)).toBe(true);
  });
});

describe("TelemetryBuffer", () => {
  it("keeps lines within each container's rate and counts the rest into one rate_limit gap per stack", () => {
    const buffer = new TelemetryBuffer(3);
    for (let i = 0; i < 5; i++) buffer.addLine(line(i), 0);
    for (let i = 0; i < 2; i++) buffer.addLine(line(i, "sidecar"), 0);
    const batch = buffer.take();
    expect(batch?.logs?.map((l) => `${l.container}:${l.line}`)).toEqual([
      "app:l0",
      "app:l1",
      "app:l2",
      "sidecar:l0",
      "sidecar:l1",
    ]);
    expect(batch?.gaps).toEqual([{ stackId: STACK, sinceTs: line(3).ts, droppedCount: 2, reason: "RATE_LIMIT" }]);
    expect(buffer.dropped.rate_limit).toBe(2);
    expect(buffer.take()).toBeNull();
  });

  it("hands out batches of at most the broker's list cap", () => {
    const buffer = new TelemetryBuffer(1000);
    for (let i = 0; i < BATCH_LIST_MAX + 7; i++) buffer.addLine(line(i), 0);
    expect(buffer.take()?.logs).toHaveLength(BATCH_LIST_MAX);
    expect(buffer.take()?.logs).toHaveLength(7);
  });

  it("turns an unsent batch's records into disconnected gaps and keeps its gaps", () => {
    const buffer = new TelemetryBuffer(1);
    buffer.addLine(line(0), 0);
    buffer.addLine(line(1), 0);
    const batch = buffer.take();
    if (!batch) throw new Error("no batch");
    buffer.lost(batch);
    const gaps = buffer.take()?.gaps ?? [];
    expect(gaps.map((g) => [g.reason, g.droppedCount]).sort()).toEqual([
      ["DISCONNECTED", 1],
      ["RATE_LIMIT", 1],
    ]);
    expect(buffer.dropped).toEqual({ rate_limit: 1, buffer_full: 0, disconnected: 1 });
  });
});

describe("parseLines", () => {
  it("splits the kubelet's timestamped lines and leaves a cut-off last line for the next read", () => {
    const text = "2026-01-01T00:00:00.000000001Z hello world\n2026-01-01T00:00:01.000000000Z  indented\n2026-01-01T00:00:02.0";
    expect(parseLines(text)).toEqual([
      { ts: "2026-01-01T00:00:00.000000001Z", line: "hello world" },
      { ts: "2026-01-01T00:00:01.000000000Z", line: " indented" },
    ]);
  });
});
