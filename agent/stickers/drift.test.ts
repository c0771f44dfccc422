import { describe, expect, it } from "vitest";
import type { Manifest } from "../kube/manifest.ts";
import { FIELD_MANAGER, LAST_APPLIED_ANNOTATION, type LiveObject } from "../kube/ownership.ts";
import { appliedPaths, formatPath, holds, ownedPaths, resourceDrift, stickerDrift } from "./drift.ts";

const applied: Manifest = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: {
    name: "web",
    namespace: "shop",
    labels: { "k8s.brokkr.io/stack": "s1" },
    annotations: { [LAST_APPLIED_ANNOTATION]: "2026-01-01T00:00:00.000Z" },
  },
  spec: { replicas: 2, template: { spec: { containers: [{ name: "web", image: "web@sha256:1" }] } } },
};

/** The live object as an API server returns it: defaulted fields added, the agent owning what it applied. */
function live(overrides: (o: Record<string, any>) => void = () => {}): LiveObject {
  const obj: Record<string, any> = structuredClone(applied);
  obj.metadata.uid = "u1";
  obj.metadata.annotations[LAST_APPLIED_ANNOTATION] = "2026-02-02T00:00:00.000Z";
  obj.spec.template.spec.containers[0].imagePullPolicy = "IfNotPresent";
  obj.status = { readyReplicas: 2 };
  obj.metadata.managedFields = [
    {
      manager: FIELD_MANAGER,
      operation: "Apply",
      fieldsV1: {
        "f:metadata": { "f:labels": { "f:k8s.brokkr.io/stack": {} } },
        "f:spec": {
          "f:replicas": {},
          "f:template": { "f:spec": { "f:containers": { 'k:{"name":"web"}': { ".": {}, "f:image": {} } } } },
        },
      },
    },
    {
      manager: "kube-controller-manager",
      operation: "Update",
      subresource: "status",
      fieldsV1: { "f:status": { "f:readyReplicas": {} } },
    },
  ];
  overrides(obj);
  return obj as LiveObject;
}

const at = { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web" };

describe("drift of one applied resource", () => {
  it("finds none when the live object holds what was applied, with defaulted fields, status and a new apply time", () => {
    expect(resourceDrift(applied, live())).toEqual([]);
  });

  it("reports a deleted resource as DELETED", () => {
    expect(resourceDrift(applied, undefined)).toEqual([{ ...at, reason: "DELETED", path: null, manager: null }]);
  });

  it("reports a field with another live value as CHANGED with its path", () => {
    const drift = resourceDrift(
      applied,
      live((o) => (o.spec.replicas = 5)),
    );
    expect(drift).toEqual([{ ...at, reason: "CHANGED", path: "spec.replicas", manager: null }]);
  });

  it("reports a removed field and a changed list item as CHANGED", () => {
    const drift = resourceDrift(
      applied,
      live((o) => {
        delete o.metadata.labels["k8s.brokkr.io/stack"];
        o.spec.template.spec.containers[0].image = "other";
      }),
    );
    expect(drift.map((d) => [d.reason, d.path])).toEqual([
      ["CHANGED", 'metadata.labels["k8s.brokkr.io/stack"]'],
      ["CHANGED", "spec.template.spec.containers"],
    ]);
  });

  it("reports a field another manager owns as FOREIGN_MANAGER naming it, also when the value is the same", () => {
    const drift = resourceDrift(
      applied,
      live((o) =>
        o.metadata.managedFields.push({ manager: "hpa", operation: "Update", fieldsV1: { "f:spec": { "f:replicas": {} } } }),
      ),
    );
    expect(drift).toEqual([{ ...at, reason: "FOREIGN_MANAGER", path: "spec.replicas", manager: "hpa" }]);
  });

  it("reports a changed field taken by another manager as both CHANGED and FOREIGN_MANAGER", () => {
    const drift = resourceDrift(
      applied,
      live((o) => {
        o.spec.template.spec.containers[0].image = "patched";
        o.metadata.managedFields.push({
          manager: "kubectl-edit",
          operation: "Update",
          fieldsV1: { "f:spec": { "f:template": { "f:spec": { "f:containers": { 'k:{"name":"web"}': { "f:image": {} } } } } } },
        });
      }),
    );
    expect(drift.map((d) => [d.reason, d.path, d.manager])).toEqual([
      ["CHANGED", "spec.template.spec.containers", null],
      ["FOREIGN_MANAGER", "spec.template.spec.containers", "kubectl-edit"],
    ]);
  });

  it("ignores status-subresource managers and fields the agent did not apply", () => {
    const drift = resourceDrift(
      applied,
      live((o) => {
        o.metadata.labels.extra = "x";
        o.metadata.managedFields.push({
          manager: "other",
          operation: "Update",
          fieldsV1: { "f:metadata": { "f:labels": { "f:extra": {} } } },
        });
      }),
    );
    expect(drift).toEqual([]);
  });
});

describe("the pieces", () => {
  it("lists applied leaves without identity, type, status or the apply time", () => {
    expect(appliedPaths(applied).map(formatPath)).toEqual([
      'metadata.labels["k8s.brokkr.io/stack"]',
      "spec.replicas",
      "spec.template.spec.containers",
    ]);
  });

  it("compares maps and list items by the applied keys, scalars exactly", () => {
    expect(holds({ a: 1, b: 2 }, { a: 1 })).toBe(true);
    expect(holds([{ a: 1, d: 0 }], [{ a: 1 }])).toBe(true);
    expect(holds([{ a: 1 }, { a: 2 }], [{ a: 1 }])).toBe(false);
    expect(holds("1", 1)).toBe(false);
    expect(holds(undefined, { a: 1 })).toBe(false);
  });

  it("reads FieldsV1, counting a list whose items are owned as owned", () => {
    expect(ownedPaths({ "f:data": { "f:a": {}, "f:b": {} }, "f:spec": { "f:list": { 'k:{"name":"x"}': {} } } })).toEqual([
      ["data", "a"],
      ["data", "b"],
      ["spec", "list"],
    ]);
  });

  it("reports a sticker that is gone or whose data differs as STICKER_CHANGED", () => {
    const sticker = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "brokkr-sticker-prod", namespace: "ns" },
      data: { release: "r1", contentHash: "h" },
    };
    const ref = { apiVersion: "v1", kind: "ConfigMap", namespace: "ns", name: "brokkr-sticker-prod", manager: null };
    expect(stickerDrift(sticker, undefined)).toEqual([{ ...ref, reason: "STICKER_CHANGED", path: null }]);
    expect(stickerDrift(sticker, { ...sticker } as LiveObject)).toEqual([]);
    expect(stickerDrift(sticker, { ...sticker, data: { release: "r2", contentHash: "h", more: "x" } } as LiveObject)).toEqual([
      { ...ref, reason: "STICKER_CHANGED", path: "data.more" },
      { ...ref, reason: "STICKER_CHANGED", path: "data.release" },
    ]);
  });
});
