import { ApiException, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeKube, startFakeKube } from "./index.ts";

let kube: FakeKube;
let core: CoreV1Api;

beforeEach(async () => {
  kube = await startFakeKube();
  const kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
});
afterEach(async () => kube.stop());

const pod = (name: string, containers: string[]) =>
  kube.create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { containers: containers.map((c) => ({ name: c, image: "busybox" })) },
  });

async function codeOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
  throw new Error("expected the request to fail");
}

describe("fake-kube pod logs and events", () => {
  it("serves a container's canned log with tailLines and then limitBytes applied", async () => {
    pod("web", ["app"]);
    kube.setPodLog({ namespace: "default", pod: "web", container: "app" }, "one\ntwo\nthree\nfour\n");
    expect(await core.readNamespacedPodLog({ name: "web", namespace: "default" })).toBe("one\ntwo\nthree\nfour\n");
    expect(await core.readNamespacedPodLog({ name: "web", namespace: "default", tailLines: 2 })).toBe("three\nfour\n");
    const capped = await core.readNamespacedPodLog({ name: "web", namespace: "default", tailLines: 2, limitBytes: 4 });
    expect(capped).toBe("thre");
  });

  it("needs a container name for a pod of several, refuses an unknown one, and 404s a missing pod", async () => {
    pod("multi", ["app", "sidecar"]);
    expect(await codeOf(core.readNamespacedPodLog({ name: "multi", namespace: "default" }))).toBe(400);
    expect(await codeOf(core.readNamespacedPodLog({ name: "multi", namespace: "default", container: "nope" }))).toBe(400);
    expect(await core.readNamespacedPodLog({ name: "multi", namespace: "default", container: "sidecar" })).toBe("");
    expect(await codeOf(core.readNamespacedPodLog({ name: "ghost", namespace: "default" }))).toBe(404);
  });

  it("lists core/v1 events created as the kubelet would", async () => {
    kube.create({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "web.1", namespace: "default" },
      involvedObject: { kind: "Pod", name: "web", namespace: "default" },
      reason: "BackOff",
      message: "Back-off restarting failed container",
      type: "Warning",
    });
    const list = await core.listNamespacedEvent({ namespace: "default" });
    expect(list.items.map((e) => [e.involvedObject.name, e.reason])).toEqual([["web", "BackOff"]]);
  });
});
