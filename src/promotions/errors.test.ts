import { describe, expect, it } from "vitest";
import { HTTP_STATUS, preconditionFailed } from "../errors.js";
import { formatGraphQLError } from "../graphql/format-error.js";
import { restErrorBody } from "../rest/errors.js";

describe("a refusing gate as an error", () => {
  const err = preconditionFailed("NO_ACTIVE_FREEZE", "promotion refused by gate NO_ACTIVE_FREEZE: a freeze window is active");

  it("carries the gate in GraphQL extensions", () => {
    const formatted = formatGraphQLError({ message: "x", path: ["requestPromotion"] }, err);
    expect(formatted).toMatchObject({
      message: err.message,
      extensions: { code: "PRECONDITION_FAILED", gate: "NO_ACTIVE_FREEZE" },
    });
  });

  it("is a 409 with the gate in the REST details", () => {
    expect(HTTP_STATUS[err.code]).toBe(409);
    expect(restErrorBody(err)).toEqual({
      code: "PRECONDITION_FAILED",
      message: err.message,
      details: { gate: "NO_ACTIVE_FREEZE" },
    });
  });
});
