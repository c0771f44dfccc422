import { afterEach, describe, expect, it } from "vitest";
import { type HealthServer, startHealthServer } from "./health-server.ts";
import { createAgentMetrics } from "./metrics.ts";

describe("health server", () => {
  let server: HealthServer | undefined;
  afterEach(async () => server?.close());

  it("serves liveness, readiness as it changes, status JSON and per-instance metrics", async () => {
    let ready = false;
    const metrics = createAgentMetrics();
    const other = createAgentMetrics();
    metrics.applies.inc(3);
    other.applies.inc(7);
    server = await startHealthServer(0, { ready: () => ready, status: () => ({ cursor: "42" }), registry: metrics.registry });
    const get = (path: string) => fetch(`http://127.0.0.1:${server!.port}${path}`);
    expect((await get("/healthz")).status).toBe(200);
    expect((await get("/readyz")).status).toBe(503);
    ready = true;
    expect((await get("/readyz")).status).toBe(200);
    expect(await (await get("/health")).json()).toEqual({ cursor: "42" });
    const text = await (await get("/metrics")).text();
    expect(text).toContain("brokkr_agent_applies_total 3");
    for (const name of [
      "brokkr_agent_apply_failures_total",
      "brokkr_agent_deliveries_received_total",
      "brokkr_agent_reconnects_total",
      "brokkr_agent_apply_duration_seconds_bucket",
    ]) {
      expect(text).toContain(name);
    }
    expect((await get("/nope")).status).toBe(404);
  });
});
