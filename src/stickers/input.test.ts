import { describe, expect, it } from "vitest";
import { BrokkrError } from "../errors.js";
import { MAX_DRIFT_ITEMS, MAX_STICKER_CONTENT_BYTES, requireDriftItems, requireStickerContent } from "./input.js";

const item = { reason: "DELETED" as const, apiVersion: "v1", kind: "ConfigMap", name: "web" };
const fieldOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof BrokkrError ? `${err.code} ${err.field}` : String(err);
  }
  return "accepted";
};

describe("sticker and drift input, below the GraphQL layer", () => {
  it("caps drift items at the API's list cap (the query limits refuse longer lists first)", () => {
    expect(requireDriftItems(Array(MAX_DRIFT_ITEMS).fill(item))).toHaveLength(MAX_DRIFT_ITEMS);
    expect(fieldOf(() => requireDriftItems(Array(MAX_DRIFT_ITEMS + 1).fill(item)))).toBe("BAD_USER_INPUT input.items");
  });

  it("trims strings and keeps absent ones null", () => {
    expect(requireDriftItems([{ ...item, name: " web " }])).toEqual([
      { ...item, name: "web", namespace: null, path: null, manager: null },
    ]);
  });

  it("takes content up to the byte limit, counted in UTF-8", () => {
    const fits = { s: "x".repeat(MAX_STICKER_CONTENT_BYTES - 8) };
    expect(requireStickerContent(fits)).toBe(fits);
    expect(fieldOf(() => requireStickerContent({ s: "é".repeat(MAX_STICKER_CONTENT_BYTES / 2) }))).toBe(
      "BAD_USER_INPUT input.content",
    );
  });
});
