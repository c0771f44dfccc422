import { describe, expect, it } from "vitest";
import { loadAgentConfig } from "./config.ts";

const PAK = "brokkr_BRabcd1234_0123456789abcdefABCDEF";
const minimal = { BROKKR__AGENT__BROKER_URL: "http://broker:3000/", BROKKR__AGENT__PAK: PAK };

describe("loadAgentConfig", () => {
  it("applies the documented defaults", () => {
    const result = loadAgentConfig(minimal);
    expect(result).toEqual({
      ok: true,
      config: {
        brokerUrl: "http://broker:3000",
        pak: PAK,
        agentName: undefined,
        clusterName: undefined,
        pollingIntervalMs: 10_000,
        kubeconfigPath: undefined,
        kube: {},
        healthPort: 8080,
        transport: "websocket",
        defaultNamespace: "default",
        heartbeatIntervalMs: 30_000,
        healthReportIntervalMs: 60_000,
        driftCheckIntervalMs: 60_000,
        logLevel: "info",
        telemetry: { enabled: true, intervalMs: 5000, logLinesPerSecond: 100, maxContainers: 50 },
      },
    });
  });

  it("reads every variable", () => {
    const result = loadAgentConfig({
      ...minimal,
      BROKKR__AGENT__AGENT_NAME: "edge-1",
      BROKKR__AGENT__CLUSTER_NAME: "eu-west",
      BROKKR__AGENT__POLLING_INTERVAL: "2.5",
      BROKKR__AGENT__KUBECONFIG_PATH: "/etc/kube/config",
      BROKKR__AGENT__HEALTH_PORT: "0",
      BROKKR__AGENT__TRANSPORT: "rest",
      BROKKR__AGENT__DEFAULT_NAMESPACE: "apps",
      BROKKR__AGENT__HEARTBEAT_INTERVAL: "5",
      BROKKR__AGENT__HEALTH_REPORT_INTERVAL: "15",
      BROKKR__AGENT__LOG__LEVEL: "debug",
    });
    expect(result.ok && result.config).toMatchObject({
      agentName: "edge-1",
      clusterName: "eu-west",
      pollingIntervalMs: 2500,
      kubeconfigPath: "/etc/kube/config",
      healthPort: 0,
      transport: "rest",
      defaultNamespace: "apps",
      heartbeatIntervalMs: 5000,
      healthReportIntervalMs: 15_000,
      logLevel: "debug",
    });
  });

  it("names each missing required variable on its own line", () => {
    expect(loadAgentConfig({})).toEqual({
      ok: false,
      problems: ["BROKKR__AGENT__BROKER_URL is required", "BROKKR__AGENT__PAK is required"],
    });
  });

  it("rejects bad values naming the variable, without echoing the PAK", () => {
    const result = loadAgentConfig({
      BROKKR__AGENT__BROKER_URL: "ftp://x",
      BROKKR__AGENT__PAK: "secret-not-a-pak",
      BROKKR__AGENT__HEALTH_PORT: "99999",
      BROKKR__AGENT__TRANSPORT: "carrier-pigeon",
      BROKKR__AGENT__POLLING_INTERVAL: "-1",
    });
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    expect(problems).toHaveLength(5);
    for (const name of ["BROKER_URL", "PAK", "HEALTH_PORT", "TRANSPORT", "POLLING_INTERVAL"]) {
      expect(problems.some((p) => p.startsWith(`BROKKR__AGENT__${name} `))).toBe(true);
    }
    expect(problems.join("\n")).not.toContain("secret-not-a-pak");
  });
});
