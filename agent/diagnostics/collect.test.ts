import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeKube, startFakeKube } from "../../test/fake-kube/index.ts";
import { createKubeClients, loadKubeConfig } from "../kube/client.ts";
import { OBJECT_ID_LABEL, STACK_LABEL } from "../kube/ownership.ts";
import { type CollectDeps, collectDiagnostics } from "./collect.ts";
import { DIAGNOSTIC_LIMITS } from "./limits.ts";
import { selectorString } from "./resources.ts";

let kube: FakeKube;
let deps: CollectDeps;
const target = { stackId: "11111111-1111-4111-8111-111111111111", deploymentObjectId: "22222222-2222-4222-8222-222222222222" };
const stamped = { [STACK_LABEL]: target.stackId, [OBJECT_ID_LABEL]: target.deploymentObjectId };

beforeEach(async () => {
  kube = await startFakeKube();
  const clients = createKubeClients(loadKubeConfig(kube.kubeconfigPath));
  deps = {
    objects: clients.objects,
    core: clients.core,
    retry: { attempts: 2, baseMs: 1, maxMs: 1 },
    logger: pino({ level: "silent" }),
  };
});
afterEach(async () => kube.stop());

const pod = (name: string, labels: Record<string, string>, containers = ["app"]) =>
  kube.create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels },
    spec: { containers: containers.map((c) => ({ name: c, image: "x" })) },
  });

const event = (name: string, involved: string, at: number) =>
  kube.create({
    apiVersion: "v1",
    kind: "Event",
    metadata: { name, namespace: "default" },
    involvedObject: { kind: "Pod", name: involved, namespace: "default" },
    reason: `R${at}`,
    lastTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, at)).toISOString(),
  });

describe("selectorString", () => {
  it("writes matchLabels and every matchExpressions operator, and nothing for an empty selector", () => {
    expect(
      selectorString({
        matchLabels: { app: "web" },
        matchExpressions: [
          { key: "tier", operator: "In", values: ["a", "b"] },
          { key: "zone", operator: "NotIn", values: ["x"] },
          { key: "canary", operator: "Exists" },
          { key: "legacy", operator: "DoesNotExist" },
        ],
      }),
    ).toBe("app=web,tier in (a,b),zone notin (x),canary,!legacy");
    expect(selectorString({})).toBeNull();
    expect(selectorString(undefined)).toBeNull();
  });
});

describe("collectDiagnostics", () => {
  it("reports at most the pod cap, in name order, and tails logs of the first pods only", async () => {
    for (let i = 0; i < DIAGNOSTIC_LIMITS.pods + 5; i++) pod(`p-${String(i).padStart(2, "0")}`, stamped);
    const result = await collectDiagnostics(deps, target);
    const pods = JSON.parse(result.podStatuses);
    expect(pods).toHaveLength(DIAGNOSTIC_LIMITS.pods);
    expect(pods[0].name).toBe("p-00");
    expect(JSON.parse(result.logTails)).toHaveLength(DIAGNOSTIC_LIMITS.logPods);
  });

  it("caps each container's log at limitBytes and notes a container whose log cannot be read", async () => {
    pod("big", stamped, ["app", "init"]);
    kube.setPodLog({ namespace: "default", pod: "big", container: "app" }, `${"x".repeat(100)}\n`.repeat(100));
    kube.injectFault({ status: 400, times: 1, match: { path: /\/pods\/big\/log$/ } });
    const tails = JSON.parse((await collectDiagnostics(deps, target)).logTails);
    expect(tails[0]).toMatchObject({ container: "app", error: expect.stringContaining("400") });
    expect(tails[1].log).toBe("");
    kube.setPodLog({ namespace: "default", pod: "big", container: "init" }, `${"y".repeat(100)}\n`.repeat(200));
    const again = JSON.parse((await collectDiagnostics(deps, target)).logTails);
    expect(Buffer.byteLength(again[1].log)).toBe(DIAGNOSTIC_LIMITS.logBytesPerContainer);
  });

  it("keeps only events about the found objects, newest first, at most the event cap", async () => {
    pod("web", stamped);
    for (let i = 0; i < DIAGNOSTIC_LIMITS.events + 3; i++) event(`web.${i}`, "web", i);
    event("other.1", "other", 59);
    const events = JSON.parse((await collectDiagnostics(deps, target)).events);
    expect(events).toHaveLength(DIAGNOSTIC_LIMITS.events);
    expect(events[0].reason).toBe(`R${DIAGNOSTIC_LIMITS.events + 2}`);
    expect(events.every((e: { involvedObject: { name: string } }) => e.involvedObject.name === "web")).toBe(true);
  });

  it("finds the stack's resources by the stack label when a newer object replaced the requested one", async () => {
    pod("newer", { [STACK_LABEL]: target.stackId, [OBJECT_ID_LABEL]: "33333333-3333-4333-8333-333333333333" });
    pod("foreign", { [STACK_LABEL]: "44444444-4444-4444-8444-444444444444" });
    const pods = JSON.parse((await collectDiagnostics(deps, target)).podStatuses);
    expect(pods.map((p: { name: string }) => p.name)).toEqual(["newer"]);
  });

  it("completes with a DiagnosticsCollectionFailed event when the cluster refuses", async () => {
    pod("web", stamped);
    kube.injectFault({ status: 403, times: 10, match: { path: "/events" } });
    const result = await collectDiagnostics(deps, target);
    expect(JSON.parse(result.events)).toEqual([
      expect.objectContaining({
        type: "Warning",
        reason: "DiagnosticsCollectionFailed",
        message: expect.stringContaining("403"),
      }),
    ]);
    expect(result.podStatuses).toBe("[]");
  });
});
