import { ApiException, KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeKube, startFakeKube } from "./index.ts";

let kube: FakeKube;
let api: KubernetesObjectApi;

beforeEach(async () => {
  kube = await startFakeKube();
  const kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);
  api = KubernetesObjectApi.makeApiClient(kc);
});
afterEach(async () => kube.stop());

const applyAs = (manager: string, obj: KubernetesObject, force = true) =>
  api.patch(obj, undefined, undefined, manager, force, PatchStrategy.ServerSideApply);
const mergeAs = (manager: string, obj: KubernetesObject) =>
  api.patch(obj, undefined, undefined, manager, undefined, PatchStrategy.MergePatch);
const cm = (data: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "one", namespace: "default" },
  data,
});
const live = () => kube.get({ apiVersion: "v1", kind: "ConfigMap", name: "one" })!;
const managers = () =>
  live().metadata.managedFields.map((e: { manager: string; operation: string }) => `${e.manager}/${e.operation}`);

async function codeOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
  throw new Error("expected the request to fail");
}

describe("fake kube field managers", () => {
  it("removes a field its only manager stops applying", async () => {
    await applyAs("a", cm({ x: "1", y: "2" }));
    await applyAs("a", cm({ x: "1" }));
    expect(live().data).toEqual({ x: "1" });
    expect(live().metadata.managedFields[0].fieldsV1).toEqual({ "f:data": { "f:x": {} } });
  });

  it("keeps a field another manager still owns, and shares fields applied with the same value", async () => {
    await applyAs("old", cm({ x: "1", y: "2" }));
    await applyAs("new", cm({ x: "1", z: "3" }));
    await applyAs("new", cm({ x: "1" }));
    expect(live().data).toEqual({ x: "1", y: "2" });
    expect(managers()).toEqual(["old/Apply", "new/Apply"]);
  });

  it("refuses a changed value owned by another manager with 409 unless forced, and forcing moves its ownership", async () => {
    await applyAs("old", cm({ x: "1" }));
    expect(await codeOf(applyAs("new", cm({ x: "2" }), false))).toBe(409);
    await applyAs("new", cm({ x: "2" }));
    expect(managers()).toEqual(["new/Apply"]);
    await applyAs("new", cm({ y: "1" }));
    expect(live().data).toEqual({ y: "1" });
  });

  it("takes managedFields written by a merge patch as given and refuses a stale resourceVersion", async () => {
    await applyAs("old", cm({ x: "1", y: "2" }));
    const { managedFields, resourceVersion } = live().metadata;
    const renamed = managedFields.map((e: object) => ({ ...e, manager: "new" }));
    const patch = (rv: string) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "one", namespace: "default", resourceVersion: rv, managedFields: renamed },
    });
    expect(await codeOf(mergeAs("new", patch("1")))).toBe(409);
    await mergeAs("new", patch(resourceVersion));
    expect(managers()).toEqual(["new/Apply"]);
    await applyAs("new", cm({ x: "1" }));
    expect(live().data).toEqual({ x: "1" });
  });

  it("gives the fields a merge patch changes to its manager as an Update", async () => {
    await applyAs("a", cm({ x: "1" }));
    await mergeAs("b", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "one", namespace: "default", labels: { l: "v" } },
    } as KubernetesObject);
    expect(live().metadata.labels).toEqual({ l: "v" });
    expect(live().metadata.managedFields.find((e: { manager: string }) => e.manager === "b")).toMatchObject({
      operation: "Update",
      fieldsV1: { "f:metadata": { "f:labels": { "f:l": {} } } },
    });
  });

  it("pages a list by limit and continue", async () => {
    for (const name of ["c", "a", "b"]) await applyAs("a", { ...cm({}), metadata: { name, namespace: "default" } });
    const first = await api.list("v1", "ConfigMap", "default", undefined, undefined, undefined, undefined, undefined, 2);
    expect(first.items.map((o) => o.metadata?.name)).toEqual(["a", "b"]);
    const next = await api.list(
      "v1",
      "ConfigMap",
      "default",
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      2,
      first.metadata?._continue,
    );
    expect(next.items.map((o) => o.metadata?.name)).toEqual(["c"]);
    expect(next.metadata?._continue).toBeUndefined();
  });
});
