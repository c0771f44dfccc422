import { describe, expect, it } from "vitest";
import { addTo, added, contains, removeFrom, removed, sizeOf, valuesOf, type SmallSet } from "./small-set.js";

describe("SmallSet", () => {
  it("is a bare value for one, a Set from the second, and bare again when one is left", () => {
    let s: SmallSet<string> | undefined = added(undefined, "a");
    expect(s).toBe("a");
    s = added(s, "a");
    expect(s).toBe("a");
    s = added(s, "b");
    expect(s).toBeInstanceOf(Set);
    expect([sizeOf(s), contains(s, "a"), contains(s, "b"), contains(s, "c")]).toEqual([2, true, true, false]);
    s = removed(s, "a");
    expect(s).toBe("b");
    expect(removed(s, "c")).toBe("b");
    expect(removed(s, "b")).toBeUndefined();
    expect([sizeOf(undefined), valuesOf(undefined)]).toEqual([0, []]);
  });

  it("keeps a map's key only while its set holds something", () => {
    const map = new Map<string, SmallSet<number>>();
    addTo(map, "k", 1);
    addTo(map, "k", 2);
    expect(valuesOf(map.get("k"))).toEqual([1, 2]);
    expect(removeFrom(map, "k", 3)).toBe(false);
    expect(removeFrom(map, "k", 1)).toBe(true);
    expect(map.get("k")).toBe(2);
    expect(removeFrom(map, "k", 2)).toBe(true);
    expect(map.has("k")).toBe(false);
    expect(removeFrom(map, "k", 2)).toBe(false);
  });
});
