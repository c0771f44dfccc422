import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import { DocumentCache } from "./document-cache.js";

describe("DocumentCache", () => {
  it("keeps at most its byte budget of query text, dropping the oldest first", () => {
    let builds = 0;
    const cache = new DocumentCache(100, (q) => (builds++, parse(q)));
    const texts = Array.from({ length: 10 }, (_, i) => `{ f${i} ${"x".repeat(20)} }`);
    for (const t of texts) cache.get(t);
    expect(cache.size.bytes).toBeLessThanOrEqual(100);
    expect(cache.size.entries).toBe(Math.floor(100 / texts[0]!.length));
    builds = 0;
    cache.get(texts[9]!);
    expect(builds).toBe(0);
    cache.get(texts[0]!);
    expect(builds).toBe(1);
  });

  it("does not keep a text larger than the whole budget", () => {
    const cache = new DocumentCache(100, (q) => parse(q));
    cache.get(`{ a }`);
    cache.get(`{ big ${"x".repeat(200)} }`);
    expect(cache.size).toEqual({ entries: 1, bytes: 5 });
  });
});
