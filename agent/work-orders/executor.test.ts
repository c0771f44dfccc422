import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { ManifestError } from "../kube/manifest.ts";
import { isRetryable } from "./executor.ts";

describe("isRetryable", () => {
  const api = (code: number) => new ApiException(code, "refused", { message: "no" }, {});

  it("treats a bad payload and the API's refusals as final", () => {
    expect(isRetryable(new ManifestError("document 1: kind is required"))).toBe(false);
    expect(isRetryable(new Error("the cluster does not serve example.com/v1 Widget"))).toBe(false);
    for (const code of [400, 403, 404, 422]) expect(isRetryable(api(code)), String(code)).toBe(false);
  });

  it("retries transient API errors, timeouts, conflicts and network failures", () => {
    for (const code of [408, 409, 429, 500, 503, 504]) expect(isRetryable(api(code)), String(code)).toBe(true);
    expect(isRetryable(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBe(true);
  });
});
