import type { V1Pod } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeKube, startFakeKube } from "../../test/fake-kube/index.ts";
import { createKubeClients, loadKubeConfig } from "./client.ts";
import { STACK_LABEL } from "./ownership.ts";
import { classifyPod, collectStackHealth } from "./stack-health.ts";

function pod(containerStatuses: object[], name = "p"): V1Pod {
  return { metadata: { name, namespace: "default" }, status: { containerStatuses } } as V1Pod;
}

describe("classifyPod", () => {
  it("calls a pod with running containers healthy", () => {
    expect(classifyPod(pod([{ name: "app", state: { running: {} } }])).state).toBe("healthy");
  });

  it.each(["ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff", "CreateContainerConfigError"])(
    "calls a container waiting in %s degraded",
    (reason) => {
      const health = classifyPod(pod([{ name: "app", state: { waiting: { reason } } }]));
      expect(health).toMatchObject({ state: "degraded", reasons: [`app: ${reason}`] });
    },
  );

  it("calls a container terminated by OOMKilled or Error failing, also when seen in its last state", () => {
    expect(classifyPod(pod([{ name: "a", state: { terminated: { reason: "OOMKilled" } } }])).state).toBe("failing");
    const looping = classifyPod(
      pod([{ name: "b", state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated: { reason: "Error" } } }]),
    );
    expect(looping).toMatchObject({ state: "failing", reasons: ["b: CrashLoopBackOff", "b: terminated Error"] });
  });

  it("ignores a container that completed normally", () => {
    expect(classifyPod(pod([{ name: "job", state: { terminated: { reason: "Completed", exitCode: 0 } } }])).state).toBe(
      "healthy",
    );
  });
});

describe("collectStackHealth", () => {
  let kube: FakeKube;
  beforeEach(async () => {
    kube = await startFakeKube();
  });
  afterEach(async () => kube.stop());

  it("groups the labelled pods by stack and takes the worst state", async () => {
    const { objects } = createKubeClients(loadKubeConfig(kube.kubeconfigPath));
    const put = async (name: string, stack: string | undefined, status: object) => {
      const labels = stack ? { [STACK_LABEL]: stack } : {};
      await objects.create({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: "default", labels },
        spec: { containers: [{ name: "app", image: "x" }] },
      } as V1Pod);
      kube.setStatus({ apiVersion: "v1", kind: "Pod", namespace: "default", name }, status);
    };
    await put("a-ok", "stack-a", { containerStatuses: [{ name: "app", state: { running: {} } }] });
    await put("a-bad", "stack-a", { containerStatuses: [{ name: "app", state: { waiting: { reason: "ImagePullBackOff" } } }] });
    await put("b-oom", "stack-b", { containerStatuses: [{ name: "app", state: { terminated: { reason: "OOMKilled" } } }] });
    await put("stray", undefined, { containerStatuses: [{ name: "app", state: { terminated: { reason: "OOMKilled" } } }] });
    const health = await collectStackHealth(objects);
    expect(health.map((s) => [s.stackId, s.state, s.pods.map((p) => `${p.name}:${p.state}`).sort()])).toEqual([
      ["stack-a", "degraded", ["a-bad:degraded", "a-ok:healthy"]],
      ["stack-b", "failing", ["b-oom:failing"]],
    ]);
  });
});
