import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import { configFrom } from "../config.js";
import { cachedOperationLimitErrors } from "./limit-cache.js";
import { buildSchema } from "./schema.js";

const schema = buildSchema();
const limits = configFrom({ BROKKR__BROKER__MAX_QUERY_COST: "5000" }).broker;
const codes = (errors: readonly { extensions: Record<string, unknown> }[]) => errors.map((e) => e.extensions.code);

describe("cachedOperationLimitErrors", () => {
  const page = parse(
    `query($n: Int, $l: [String!]) { stacks(first: $n, filter: { labels: $l }) { edges { node { id name labels } } } }`,
  );

  it("refuses a costlier page of a document an earlier request passed with", () => {
    expect(cachedOperationLimitErrors(schema, page, { n: 1 }, undefined, limits)).toEqual([]);
    expect(codes(cachedOperationLimitErrors(schema, page, { n: 1000 }, undefined, limits))).toEqual(["QUERY_TOO_COSTLY"]);
    expect(cachedOperationLimitErrors(schema, page, { n: 1, l: ["x".repeat(500)] }, undefined, limits)).toEqual([]);
  });

  it("refuses variables that do not coerce even after the same document passed", () => {
    expect(cachedOperationLimitErrors(schema, page, { n: 2 }, undefined, limits)).toEqual([]);
    expect(codes(cachedOperationLimitErrors(schema, page, { n: "two" }, undefined, limits))).toEqual(["BAD_USER_INPUT"]);
  });

  it("checks the document again under new limits", () => {
    const deep = parse(`{ me { role id } }`);
    expect(cachedOperationLimitErrors(schema, deep, {}, undefined, limits)).toEqual([]);
    const narrow = { ...limits, maxSelections: 2 };
    expect(codes(cachedOperationLimitErrors(schema, deep, {}, undefined, narrow))).toEqual(["TOO_MANY_SELECTIONS"]);
  });

  it("refuses a list variable longer than the limit after a short one passed", () => {
    const labels = parse(`query($l: [String!]) { stacks(filter: { labels: $l }) { edges { node { id } } } }`);
    expect(cachedOperationLimitErrors(schema, labels, { l: ["a"] }, undefined, limits)).toEqual([]);
    const long = Array.from({ length: 5000 }, (_, i) => `l${i}`);
    expect(codes(cachedOperationLimitErrors(schema, labels, { l: long }, undefined, limits))).toEqual(["LIST_TOO_LONG"]);
  });

  it("takes every valid cursor of a custom scalar as one shape, and still refuses one that does not coerce", () => {
    const stream = parse(`subscription($after: BigInt) { agentDeployments(after: $after) { type } }`);
    for (const after of ["0", "17", "123456789"])
      expect(cachedOperationLimitErrors(schema, stream, { after }, undefined, limits)).toEqual([]);
    expect(codes(cachedOperationLimitErrors(schema, stream, { after: "seventeen" }, undefined, limits))).toEqual([
      "BAD_USER_INPUT",
    ]);
  });
});
