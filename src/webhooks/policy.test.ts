import { describe, expect, it } from "vitest";
import { type ConfigError, loadConfig, webhookKeyBytes } from "../config.js";
import { isUsefulPattern, patternMatches } from "./event-types.js";
import { requireWebhookUrl } from "./input.js";
import { isRetryable, nextAfter, retryDelayMs } from "./retry-policy.js";

describe("event-type patterns", () => {
  it("matches *, exact types and prefix wildcards only", () => {
    expect(patternMatches("*", "stack.created")).toBe(true);
    expect(patternMatches("stack.created", "stack.created")).toBe(true);
    expect(patternMatches("stack.*", "stack.created")).toBe(true);
    expect(patternMatches("stack.*", "stacked.created")).toBe(false);
    expect(patternMatches("deployment.*", "stack.created")).toBe(false);
  });

  it("accepts only patterns that match a published type", () => {
    expect(isUsefulPattern("workorder.*")).toBe(true);
    expect(isUsefulPattern("nothing.*")).toBe(false);
    expect(isUsefulPattern("stack.%")).toBe(false);
    expect(isUsefulPattern("")).toBe(false);
  });
});

describe("webhook URLs", () => {
  it("accepts http and https and refuses every other scheme and credentials", () => {
    expect(requireWebhookUrl("url", "https://a.example/x")).toBe("https://a.example/x");
    expect(requireWebhookUrl("url", "http://10.0.0.1:8080/x")).toBe("http://10.0.0.1:8080/x");
    for (const bad of ["ftp://a.example", "file:///etc/passwd", "javascript:alert(1)", "not a url", "https://u:p@a.example"])
      expect(() => requireWebhookUrl("url", bad)).toThrow();
  });
});

describe("retry policy", () => {
  it("retries no answer, 5xx, 408, 425 and 429, and nothing else", () => {
    for (const code of [null, 500, 503, 408, 425, 429]) expect(isRetryable(code)).toBe(true);
    for (const code of [301, 400, 401, 404, 410]) expect(isRetryable(code)).toBe(false);
  });

  it("doubles the delay per attempt and takes off at most half as jitter", () => {
    expect(retryDelayMs(1, 2000, () => 1)).toBe(2000);
    expect(retryDelayMs(1, 2000, () => 0)).toBe(1000);
    expect(retryDelayMs(3, 2000, () => 1)).toBe(8000);
    expect(retryDelayMs(40, 2000, () => 1)).toBe(3_600_000);
  });

  it("gives up after the last attempt", () => {
    expect(nextAfter(false, 500, 2, 3, 1000).status).toBe("failed");
    expect(nextAfter(false, 500, 3, 3, 1000).status).toBe("dead");
    expect(nextAfter(false, 404, 1, 3, 1000).status).toBe("dead");
    expect(nextAfter(true, 200, 1, 3, 1000).status).toBe("success");
  });
});

describe("BROKKR__BROKER__WEBHOOK_ENCRYPTION_KEY", () => {
  it("takes 32 bytes as hex or base64 and nothing else", () => {
    expect(webhookKeyBytes("ab".repeat(32))?.length).toBe(32);
    expect(webhookKeyBytes(Buffer.alloc(32, 7).toString("base64"))?.length).toBe(32);
    expect(webhookKeyBytes("ab".repeat(16))).toBeNull();
    expect(webhookKeyBytes("too short")).toBeNull();
  });
});

describe("a bad BROKKR__BROKER__WEBHOOK_ENCRYPTION_KEY", () => {
  it("stops start-up with a line naming the variable and not its value", () => {
    let problems: string[] = [];
    try {
      loadConfig({ BROKKR__BROKER__WEBHOOK_ENCRYPTION_KEY: "my-short-secret-key" });
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^BROKKR__BROKER__WEBHOOK_ENCRYPTION_KEY: /);
    expect(problems[0]).not.toContain("my-short-secret-key");
  });
});
