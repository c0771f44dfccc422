import { ApiException, CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeKube, startFakeKube } from "./index.ts";

let kube: FakeKube;
let core: CoreV1Api;
let api: KubernetesObjectApi;

beforeEach(async () => {
  kube = await startFakeKube();
  const kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  api = KubernetesObjectApi.makeApiClient(kc);
  const pod = (name: string, containers: string[]) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { containers: containers.map((c) => ({ name: c, image: "app:1" })) },
  });
  for (const p of [pod("one", ["app"]), pod("two", ["app", "sidecar"])])
    await api.patch(p, undefined, undefined, "test", true, PatchStrategy.ServerSideApply);
});
afterEach(async () => kube.stop());

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
  throw new Error("expected the request to fail");
}

describe("fake-kube pod logs", () => {
  it("serves canned lines with timestamps, tailLines, sinceSeconds and limitBytes", async () => {
    const old = new Date(Date.now() - 60_000);
    kube.appendPodLog({ pod: "one", container: "app" }, [{ ts: old, text: "old" }, { text: "a" }, { text: "b" }]);
    expect(await core.readNamespacedPodLog({ name: "one", namespace: "default" })).toBe("old\na\nb\n");
    expect(await core.readNamespacedPodLog({ name: "one", namespace: "default", tailLines: 1 })).toBe("b\n");
    expect(await core.readNamespacedPodLog({ name: "one", namespace: "default", sinceSeconds: 10 })).toBe("a\nb\n");
    expect(await core.readNamespacedPodLog({ name: "one", namespace: "default", limitBytes: 5 })).toBe("old\na");
    const stamped = await core.readNamespacedPodLog({ name: "one", namespace: "default", timestamps: true, tailLines: 1 });
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z b\n$/);
  });

  it("requires a container name for a pod with several, and refuses unknown containers and pods", async () => {
    kube.appendPodLog({ pod: "two", container: "sidecar" }, [{ text: "s" }]);
    expect(await core.readNamespacedPodLog({ name: "two", namespace: "default", container: "sidecar" })).toBe("s\n");
    expect(await statusOf(core.readNamespacedPodLog({ name: "two", namespace: "default" }))).toBe(400);
    expect(await statusOf(core.readNamespacedPodLog({ name: "one", namespace: "default", container: "nope" }))).toBe(400);
    expect(await statusOf(core.readNamespacedPodLog({ name: "ghost", namespace: "default" }))).toBe(404);
  });
});

describe("fake-kube events", () => {
  it("lists recorded events across namespaces and per namespace", async () => {
    const event = kube.recordEvent({
      involvedObject: { apiVersion: "v1", kind: "Pod", namespace: "default", name: "one" },
      reason: "Pulled",
      message: "pulled",
    });
    expect(event.metadata).toMatchObject({ namespace: "default", name: "one.1" });
    const all = await core.listEventForAllNamespaces();
    expect(all.items.map((e) => [e.reason, e.involvedObject.name, e.type])).toEqual([["Pulled", "one", "Normal"]]);
    expect((await core.listNamespacedEvent({ namespace: "kube-system" })).items).toEqual([]);
  });
});
