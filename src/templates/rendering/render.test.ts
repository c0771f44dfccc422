import { describe, expect, it } from "vitest";
import { renderInWorker, type RenderJob } from "./render.js";

const job = (body: string, overrides: Partial<RenderJob> = {}): RenderJob => ({
  body,
  schema: "{}",
  parameters: { name: "web" },
  maxOutputChars: 1024 * 1024,
  timeoutMs: 10_000,
  maxConcurrent: 4,
  ...overrides,
});
const RUNAWAY = "{% for i in range(0, 10000) %}{% for j in range(0, 10000) %}{% endfor %}{% endfor %}";

describe("rendering in a worker", () => {
  it("renders parameters verbatim (no HTML escaping in YAML)", async () => {
    expect(await renderInWorker(job("v: {{ name }} <&>'\"", { parameters: { name: "a&b" } }))).toEqual({
      kind: "rendered",
      output: "v: a&b <&>'\"",
    });
  });

  it("refuses a render beyond the concurrency cap while another runs", async () => {
    const first = renderInWorker(job(RUNAWAY, { maxConcurrent: 1, timeoutMs: 1000 }));
    await expect(renderInWorker(job("x", { maxConcurrent: 1 }))).rejects.toMatchObject({ code: "TOO_MANY_REQUESTS" });
    await expect(first).rejects.toMatchObject({ code: "BAD_USER_INPUT", message: expect.stringMatching(/within 1000 ms/) });
  });

  it("stops a template that grows a string without bound", async () => {
    const doubling = '{% set s = "x" %}{% for i in range(0, 64) %}{% set s = s ~ s %}{% endfor %}{{ s | length }}';
    const result = await renderInWorker(job(doubling)).catch((err: Error) => ({ kind: "refused", message: err.message }));
    expect(result.kind).not.toBe("rendered");
  });

  it("caps the output it returns", async () => {
    const big = "{% for i in range(0, 2000) %}0123456789{% endfor %}";
    expect(await renderInWorker(job(big, { maxOutputChars: 10_000 }))).toEqual({
      kind: "failed",
      message: "the rendered output is over 10000 characters",
    });
  });

  it("sees no environment variables of the broker", async () => {
    process.env.BROKKR_TEST_SECRET = "s3cret";
    const probe = "{{ range.constructor('return process.env.BROKKR_TEST_SECRET')() }}";
    const result = await renderInWorker(job(probe));
    expect(JSON.stringify(result)).not.toContain("s3cret");
    delete process.env.BROKKR_TEST_SECRET;
  });
});
