import { createHash } from "node:crypto";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type FakeKube, startFakeKube } from "../test/fake-kube/index.ts";
import { type AgentRuntime, createAgentRuntime } from "./app.ts";
import type { BrokerTransport, DeploymentEvent } from "./broker/types.ts";
import { WebSocketUnavailableError } from "./broker/websocket-transport.ts";
import type { AgentConfig } from "./config.ts";
import { loadKubeConfig } from "./kube/client.ts";
import { type FakeBroker, startFakeBroker } from "./test-support/fake-broker.ts";

const PAK = "brokkr_BRabcd1234_0123456789abcdefghijklmnop";

function deploy(seq: number, stackId: string, yamlContent: string): DeploymentEvent {
  const yamlChecksum = createHash("sha256").update(yamlContent).digest("hex");
  return {
    type: "DEPLOY",
    stackId,
    deploymentObject: { id: `do-${seq}`, sequenceId: String(seq), yamlContent, yamlChecksum, isDeletionMarker: false },
  };
}

const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  k: v\n`;

describe("createAgentRuntime", () => {
  let kube: FakeKube;
  let broker: FakeBroker;
  let agent: AgentRuntime | undefined;

  beforeEach(async () => {
    kube = await startFakeKube();
    broker = await startFakeBroker({ pak: PAK, agentId: "agent-1" });
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await broker.stop();
    await kube.stop();
  });

  function configFor(transport: "websocket" | "rest"): AgentConfig {
    return {
      brokerUrl: broker.url,
      pak: PAK,
      pollingIntervalMs: 50,
      healthPort: 0,
      transport,
      defaultNamespace: "default",
      heartbeatIntervalMs: 3_600_000,
      healthReportIntervalMs: 3_600_000,
      driftCheckIntervalMs: 3_600_000,
      telemetry: { enabled: false, intervalMs: 3_600_000, logLinesPerSecond: 100, maxContainers: 50 },
      logLevel: "silent",
    };
  }

  const deps = () => ({ kubeConfig: loadKubeConfig(kube.kubeconfigPath), logger: pino({ level: "silent" }) });

  it("applies what the broker delivers over the websocket, reports it, heartbeats and serves its health", async () => {
    agent = createAgentRuntime(configFor("websocket"), deps());
    await agent.start();
    expect(await broker.heartbeats.next()).toMatchObject({ k8sReachable: true });
    broker.publish(deploy(7, "stack-a", configMap("from-broker")));
    expect(await broker.reports.next()).toEqual({
      deploymentObjectId: "do-7",
      status: "SUCCESS",
      message: null,
      eventType: "APPLY",
    });
    expect(
      kube.get({ apiVersion: "v1", kind: "ConfigMap", name: "from-broker" })?.metadata.annotations["brokkr.io/owner-id"],
    ).toBe("agent-1");
    const base = `http://127.0.0.1:${agent.healthPort()}`;
    expect(await (await fetch(`${base}/health`)).json()).toMatchObject({
      agentId: "agent-1",
      connection: "connected",
      transport: "websocket",
      cursor: "7",
      lastError: null,
      kubernetes: { reachable: true },
    });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${base}/metrics`)).text()).toContain("brokkr_agent_deliveries_received_total 1");
  });

  it("falls back to REST when the websocket keeps failing and reports through REST", async () => {
    const brokenWebsocket: BrokerTransport = {
      name: "websocket",
      verify: async () => "agent-1",
      run: async () => {
        throw new WebSocketUnavailableError("websocket blocked");
      },
      reportEvent: async () => {
        throw new Error("must not report over the broken websocket");
      },
      heartbeat: async () => {},
      reportHealth: async () => {
        throw new Error("must not report health over the broken websocket");
      },
    };
    agent = createAgentRuntime(configFor("websocket"), { ...deps(), transports: { websocket: brokenWebsocket } });
    await agent.start();
    broker.publish(deploy(3, "stack-a", configMap("over-rest")));
    expect(await broker.reports.next()).toMatchObject({ deploymentObjectId: "do-3", status: "SUCCESS" });
    expect(agent.status().transport).toBe("rest");
    expect(kube.get({ apiVersion: "v1", kind: "ConfigMap", name: "over-rest" })).toBeDefined();
    await agent.reportHealth();
    expect(await broker.health.next()).toMatchObject([{ id: "do-3", status: "healthy" }]);
  });

  it("reports a failure with the Kubernetes message in REST mode", async () => {
    agent = createAgentRuntime(configFor("rest"), deps());
    await agent.start();
    broker.publish(deploy(1, "stack-a", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: absent\n"));
    expect(await broker.reports.next()).toMatchObject({
      deploymentObjectId: "do-1",
      status: "FAILURE",
      message: 'Kubernetes API 404 NotFound: namespaces "absent" not found',
    });
  });

  it("removes on restart the resources of a stack untargeted while it was stopped, and leaves the rest untouched", async () => {
    const cm = (name: string) => kube.get({ apiVersion: "v1", kind: "ConfigMap", name });
    agent = createAgentRuntime(configFor("websocket"), deps());
    await agent.start();
    broker.publish(deploy(1, "stack-kept", configMap("kept")));
    broker.publish(deploy(2, "stack-gone", configMap("gone")));
    expect([(await broker.reports.next()).status, (await broker.reports.next()).status]).toEqual(["SUCCESS", "SUCCESS"]);
    await agent.stop();
    broker.publish({ type: "UNTARGETED", stackId: "stack-gone", deploymentObject: null });
    kube.resetRequests();
    agent = createAgentRuntime(configFor("websocket"), deps());
    await agent.start();
    await broker.reports.find((r) => r.deploymentObjectId === "do-1");
    await vi.waitFor(() => expect(cm("gone")).toBeUndefined(), { timeout: 10_000 });
    expect(cm("kept")).toBeDefined();
    expect(
      kube
        .requests()
        .filter((r) => r.method !== "GET")
        .map((r) => `${r.method} ${r.path}`),
    ).toEqual(["DELETE /api/v1/namespaces/default/configmaps/gone"]);
  });

  it("removes the resources of a stack that a REST poll of the target state no longer lists", async () => {
    await broker.stop();
    broker = await startFakeBroker({ pak: PAK, agentId: "agent-1", withoutLongPoll: true });
    const cm = (name: string) => kube.get({ apiVersion: "v1", kind: "ConfigMap", name });
    agent = createAgentRuntime(configFor("rest"), deps());
    await agent.start();
    broker.publish(deploy(1, "stack-kept", configMap("kept")));
    broker.publish(deploy(2, "stack-gone", configMap("gone")));
    await broker.reports.find((r) => r.deploymentObjectId === "do-2");
    broker.publish({ type: "UNTARGETED", stackId: "stack-gone", deploymentObject: null });
    await vi.waitFor(() => expect(cm("gone")).toBeUndefined(), { timeout: 10_000 });
    expect(cm("kept")).toBeDefined();
  });

  it("sends each applied stack's pod health to the broker through the active transport", async () => {
    agent = createAgentRuntime(configFor("websocket"), deps());
    await agent.start();
    broker.publish(
      deploy(
        4,
        "stack-a",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: app\n      image: app:1\n",
      ),
    );
    await broker.reports.find((r) => r.deploymentObjectId === "do-4");
    kube.setStatus(
      { apiVersion: "v1", kind: "Pod", name: "web" },
      { containerStatuses: [{ name: "app", state: { waiting: { reason: "CrashLoopBackOff" } } }] },
    );
    await agent.reportHealth();
    expect(await broker.health.next()).toEqual([
      {
        id: "do-4",
        status: "degraded",
        summary: { pods_total: 1, pods_unhealthy: 1, conditions: ["default/web app: CrashLoopBackOff"] },
        checked_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    ]);
  });

  it("refuses to start with a PAK the broker rejects", async () => {
    agent = createAgentRuntime({ ...configFor("websocket"), pak: "brokkr_BRwrongwro_0123456789abcdefghijklmnop" }, deps());
    await expect(agent.start()).rejects.toMatchObject({ status: 401 });
  });
});
