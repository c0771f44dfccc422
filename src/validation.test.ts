import { describe, expect, it } from "vitest";
import { BrokkrError } from "./errors.js";
import { findUncleanText, isUuid, MAX_LIST_ARGUMENT, parseSequenceId, requireLabels, requireText } from "./validation.js";

function refusal(fn: () => unknown): BrokkrError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BrokkrError);
    return err as BrokkrError;
  }
  throw new Error("expected a refusal");
}

describe("the sequence-id parser", () => {
  it("accepts 0 and the largest BIGINT, as digits, numbers and bigints", () => {
    expect(parseSequenceId("after", "0")).toBe(0n);
    expect(parseSequenceId("after", "9223372036854775807")).toBe(2n ** 63n - 1n);
    expect(parseSequenceId("after", 42)).toBe(42n);
    expect(parseSequenceId("after", 7n)).toBe(7n);
  });

  it.each(["9223372036854775808", "99999999999999999999", "-1", "1e3", "", " 1", "1\u0000", "0x10"])(
    "refuses %j with BAD_USER_INPUT naming the field",
    (value) => {
      expect(refusal(() => parseSequenceId("after", value))).toMatchObject({ code: "BAD_USER_INPUT", field: "after" });
    },
  );

  it("refuses numbers past 2^53 and negative bigints", () => {
    expect(refusal(() => parseSequenceId("after", 2 ** 60)).field).toBe("after");
    expect(refusal(() => parseSequenceId("after", -1n)).field).toBe("after");
  });
});

describe("the text rule", () => {
  it.each([
    ["a NUL byte", "a\u0000b"],
    ["a lone high surrogate", "a\uD800b"],
    ["a lone low surrogate", "\uDC00"],
    ["a high surrogate at the end", "ab\uDBFF"],
  ])("refuses %s naming the field", (_, value) => {
    expect(refusal(() => requireText("name", value, 255))).toMatchObject({ code: "BAD_USER_INPUT", field: "name" });
  });

  it("accepts paired surrogates (emoji) and ordinary text", () => {
    expect(requireText("name", "ship it 🚀", 255)).toBe("ship it 🚀");
  });

  it("finds the path of the first unclean string in a nested value", () => {
    expect(findUncleanText({ a: [{ ok: "x" }, { bad: "y\u0000" }] }, "")).toBe("a.1.bad");
    expect(findUncleanText({ ["k\uD800"]: "v" }, "body")).toBe("body");
    expect(findUncleanText({ a: ["fine", 1, null] }, "")).toBeNull();
  });
});

describe("list arguments", () => {
  it(`accept ${MAX_LIST_ARGUMENT} entries and refuse one more, naming the list`, () => {
    const labels = Array.from({ length: MAX_LIST_ARGUMENT + 1 }, (_, i) => `l${i}`);
    expect(requireLabels("filter.labels", labels.slice(1))).toHaveLength(MAX_LIST_ARGUMENT);
    expect(refusal(() => requireLabels("filter.labels", labels))).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "filter.labels",
    });
  });
});

describe("the UUID pattern", () => {
  it("accepts any case and refuses near misses", () => {
    expect(isUuid("0F0E0D0C-0000-4000-8000-000000000000")).toBe(true);
    expect(isUuid("0f0e0d0c-0000-4000-8000-00000000000")).toBe(false);
    expect(isUuid("0f0e0d0c-0000-4000-8000-000000000000\n")).toBe(false);
  });
});
