import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeKube, startFakeKube } from "./index.ts";

let kube: FakeKube;
let api: KubernetesObjectApi;
let kc: KubeConfig;

beforeEach(async () => {
  kube = await startFakeKube();
  kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);
  api = KubernetesObjectApi.makeApiClient(kc);
});
afterEach(async () => kube.stop());

const apply = (obj: KubernetesObject) => api.patch(obj, undefined, undefined, "test", true, PatchStrategy.ServerSideApply);

function configMap(name: string, namespace = "default", labels: Record<string, string> = {}, data = { a: "1" }) {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace, labels }, data };
}

async function statusOf(promise: Promise<unknown>): Promise<{ code: number; body: any }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiException)
      return { code: err.code, body: typeof err.body === "string" ? JSON.parse(err.body) : err.body };
    throw err;
  }
  throw new Error("expected the request to fail");
}

describe("fake kube", () => {
  it("creates an object by server-side apply and returns it on GET", async () => {
    const created = await apply(configMap("one"));
    expect(created.metadata?.uid).toBeTruthy();
    expect(created.metadata?.managedFields?.[0]?.manager).toBe("test");
    const read = await api.read({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "one", namespace: "default" } });
    expect((read as any).data).toEqual({ a: "1" });
  });

  it("keeps uid and resourceVersion when the same configuration is applied again", async () => {
    const first = await apply(configMap("one"));
    const second = await apply(configMap("one"));
    expect(second.metadata?.uid).toBe(first.metadata?.uid);
    expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
  });

  it("bumps generation on a spec change and not on a label change", async () => {
    const dep = (replicas: number, labels: Record<string, string>) => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "default", labels },
      spec: {
        replicas,
        selector: { matchLabels: { app: "web" } },
        template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "nginx" }] } },
      },
    });
    await apply(dep(1, {}));
    const relabelled = await apply(dep(1, { x: "y" }));
    expect(relabelled.metadata?.generation).toBe(1);
    const scaled = await apply(dep(2, { x: "y" }));
    expect(scaled.metadata?.generation).toBe(2);
  });

  it("answers 404 NotFound for a namespaced object in a missing namespace", async () => {
    const { code, body } = await statusOf(apply(configMap("one", "missing")));
    expect(code).toBe(404);
    expect(body).toMatchObject({ kind: "Status", reason: "NotFound", message: 'namespaces "missing" not found' });
  });

  it("answers 404 on reading or deleting a missing object", async () => {
    const ref = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "nope", namespace: "default" } };
    expect((await statusOf(api.read(ref))).code).toBe(404);
    expect((await statusOf(api.delete(ref))).code).toBe(404);
  });

  it("lists by label selector with equality, existence, absence and set terms", async () => {
    await apply(configMap("a", "default", { tier: "web", stack: "s1" }));
    await apply(configMap("b", "default", { tier: "db", stack: "s1" }));
    await apply(configMap("c", "default", { tier: "cache" }));
    const names = async (selector: string) =>
      (await api.list("v1", "ConfigMap", undefined, undefined, undefined, undefined, undefined, selector)).items
        .map((o) => o.metadata?.name)
        .sort();
    expect(await names("stack=s1")).toEqual(["a", "b"]);
    expect(await names("stack")).toEqual(["a", "b"]);
    expect(await names("!stack")).toEqual(["c"]);
    expect(await names("tier in (web,cache)")).toEqual(["a", "c"]);
    expect(await names("tier notin (web),stack=s1")).toEqual(["b"]);
    expect(await names("tier!=db")).toEqual(["a", "c"]);
  });

  it("serves a custom kind once its CRD is applied and marks the CRD Established", async () => {
    const widget = {
      apiVersion: "example.com/v1",
      kind: "Widget",
      metadata: { name: "w1", namespace: "default" },
      spec: { size: 3 },
    };
    expect((await statusOf(apply(widget))).code).toBe(404);
    await apply({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "widgets.example.com" },
      spec: {
        group: "example.com",
        scope: "Namespaced",
        names: { kind: "Widget", plural: "widgets" },
        versions: [{ name: "v1", served: true, storage: true }],
      },
    } as KubernetesObject);
    const crd = kube.get({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      name: "widgets.example.com",
    });
    expect(crd?.status.conditions).toContainEqual(expect.objectContaining({ type: "Established", status: "True" }));
    const fresh = KubernetesObjectApi.makeApiClient(kc);
    await fresh.patch(widget, undefined, undefined, "test", true, PatchStrategy.ServerSideApply);
    expect(kube.list("example.com/v1", "Widget").map((o) => o.spec)).toEqual([{ size: 3 }]);
  });

  it("deletes a namespace's objects with the namespace", async () => {
    await apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team" } });
    await apply(configMap("one", "team"));
    await api.delete({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team" } });
    expect(kube.list("v1", "ConfigMap", { namespace: "team" })).toEqual([]);
  });

  it("serves an injected fault the given number of times, then recovers", async () => {
    kube.injectFault({ status: 503, times: 2, match: { method: "PATCH", path: "/configmaps/" } });
    expect((await statusOf(apply(configMap("one")))).code).toBe(503);
    const second = await statusOf(apply(configMap("one")));
    expect(second.body).toMatchObject({ kind: "Status", reason: "ServiceUnavailable", code: 503 });
    await apply(configMap("one"));
    expect(kube.get({ apiVersion: "v1", kind: "ConfigMap", name: "one" })).toBeDefined();
  });

  it("counts write requests per verb", async () => {
    await apply(configMap("one"));
    await api.read({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "one", namespace: "default" } });
    await api.delete({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "one", namespace: "default" } });
    expect(kube.writeCount()).toBe(2);
    expect(kube.writeCount("PATCH")).toBe(1);
    expect(kube.writeCount("DELETE")).toBe(1);
  });

  it("rejects strategic-merge and JSON patches with 415", async () => {
    await apply(configMap("one"));
    const strategic = api.patch(configMap("one"), undefined, undefined, "test", undefined, PatchStrategy.StrategicMergePatch);
    expect((await statusOf(strategic)).code).toBe(415);
  });

  it("answers typed API calls such as listing namespaces", async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const list = await core.listNamespace();
    expect(list.items.map((n) => n.metadata?.name)).toEqual(expect.arrayContaining(["default", "kube-system"]));
  });
});
