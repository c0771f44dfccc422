import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { originOf } from "./origin.js";
import { MAX_DETAILS_BYTES, REDACTED, redactInput } from "./redact.js";

describe("audit details", () => {
  it("redacts secret fields in any spelling and at any depth", () => {
    const out = redactInput({
      name: "hook",
      url: "https://hooks.example/T0/secret-path",
      authHeader: "Bearer x",
      auth_header: "Bearer y",
      nested: { pak: "brokkr_BRabcdef_xyz", clientSecret: "s", githubToken: "t", keep: "k" },
    });
    expect(out).toEqual({
      name: "hook",
      url: REDACTED,
      authHeader: REDACTED,
      auth_header: REDACTED,
      nested: { pak: REDACTED, clientSecret: REDACTED, githubToken: REDACTED, keep: "k" },
    });
  });

  it("summarises contents by size and bounds strings, lists and the whole", () => {
    const out = redactInput({
      yamlContent: "a: 1\n",
      labels: Array.from({ length: 30 }, (_, i) => `l${i}`),
      long: "x".repeat(1000),
    }) as Record<string, unknown>;
    expect(out.yamlContent).toBe("[5 bytes]");
    expect((out.labels as string[]).length).toBe(21);
    expect((out.long as string).length).toBeLessThan(300);
    const big = redactInput(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, "v".repeat(250)])));
    expect(JSON.stringify(big).length).toBeLessThanOrEqual(MAX_DETAILS_BYTES);
    expect(big).toMatchObject({ truncated: true });
  });

  it("makes text safe for JSONB", () => {
    expect(redactInput({ a: "x\u0000y\uD800" })).toEqual({ a: "x\uFFFDy\uFFFD" });
  });
});

describe("the client's address", () => {
  const req = (headers: Record<string, string>) =>
    ({ headers, socket: { remoteAddress: "::ffff:10.0.0.7" } }) as unknown as IncomingMessage;

  it("is the socket's peer, keeping an untrusted X-Forwarded-For aside", () => {
    expect(originOf(req({ "x-forwarded-for": "1.2.3.4", "user-agent": "ua" }), "rest", false)).toEqual({
      via: "rest",
      ip: "10.0.0.7",
      userAgent: "ua",
      forwardedFor: "1.2.3.4",
    });
  });

  it("is the first X-Forwarded-For entry behind a trusted proxy", () => {
    expect(originOf(req({ "x-forwarded-for": "1.2.3.4, 10.0.0.1" }), "graphql", true)).toEqual({
      via: "graphql",
      ip: "1.2.3.4",
      userAgent: null,
    });
  });
});
