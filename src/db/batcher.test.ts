import { describe, expect, it } from "vitest";
import { Batcher } from "./batcher.js";

/** A batch function whose statements finish only when the test says so. */
function controlledRun() {
  const batches: string[][] = [];
  const finish: (() => void)[] = [];
  const run = (keys: string[]) =>
    new Promise<string[]>((resolve) => {
      batches.push(keys);
      finish.push(() => resolve(keys.map((k) => k.toUpperCase())));
    });
  return { batches, finish, run };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("Batcher", () => {
  it("sends what was queued in one turn together, each caller getting its own value", async () => {
    const { batches, finish, run } = controlledRun();
    const batcher = new Batcher(run);
    const values = Promise.all(["a", "b", "c"].map((k) => batcher.load(k)));
    await turn();
    expect(batches).toEqual([["a", "b", "c"]]);
    finish[0]?.();
    expect(await values).toEqual(["A", "B", "C"]);
  });

  it("holds one statement in flight and sends everything queued meanwhile as the next", async () => {
    const { batches, finish, run } = controlledRun();
    const batcher = new Batcher(run);
    const first = batcher.load("a");
    await turn();
    // Callers arriving one turn apart while the first statement runs wait for it, then go together.
    const later: Promise<string>[] = [];
    for (const k of ["b", "c", "d"]) {
      later.push(batcher.load(k));
      await turn();
    }
    expect(batches).toEqual([["a"]]);
    finish[0]?.();
    expect(await first).toBe("A");
    await turn();
    expect(batches).toEqual([["a"], ["b", "c", "d"]]);
    finish[1]?.();
    expect(await Promise.all(later)).toEqual(["B", "C", "D"]);
  });

  it("fails every caller of a failed batch and goes on with the next", async () => {
    let calls = 0;
    const batcher = new Batcher<string, string>(async (keys) => {
      if (++calls === 1) throw new Error("statement failed");
      return keys;
    });
    const failed = Promise.allSettled([batcher.load("a"), batcher.load("b")]);
    expect((await failed).map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(await batcher.load("c")).toBe("c");
  });

  it("keeps a batch to maxBatch keys", async () => {
    const { batches, finish, run } = controlledRun();
    const batcher = new Batcher(run, { maxBatch: 2, maxConcurrent: 3 });
    const values = Promise.all(["a", "b", "c", "d", "e"].map((k) => batcher.load(k)));
    for (let i = 0; i < 3; i++) await turn();
    expect(batches).toEqual([["a", "b"], ["c", "d"], ["e"]]);
    for (const f of finish) f();
    expect(await values).toEqual(["A", "B", "C", "D", "E"]);
  });
});
