import { describe, expect, it } from "vitest";
import { loadAgentConfig } from "../config.ts";

const base = { BROKKR__AGENT__BROKER_URL: "http://broker", BROKKR__AGENT__PAK: "brokkr_BRabc_def" };

describe("the drift check interval", () => {
  it("is 60 s unless BROKKR__AGENT__DRIFT_CHECK_INTERVAL says otherwise, and must be positive", () => {
    const ok = (env: Record<string, string>) => {
      const r = loadAgentConfig({ ...base, ...env });
      if (!r.ok) throw new Error(r.problems.join("; "));
      return r.config.driftCheckIntervalMs;
    };
    expect(ok({})).toBe(60_000);
    expect(ok({ BROKKR__AGENT__DRIFT_CHECK_INTERVAL: "0.5" })).toBe(500);
    const bad = loadAgentConfig({ ...base, BROKKR__AGENT__DRIFT_CHECK_INTERVAL: "0" });
    expect(bad.ok ? [] : bad.problems.join()).toMatch(/BROKKR__AGENT__DRIFT_CHECK_INTERVAL/);
  });
});
