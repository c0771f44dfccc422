import { describe, expect, it } from "vitest";
import {
  CHECKSUM_ANNOTATION,
  LAST_APPLIED_ANNOTATION,
  OBJECT_ID_LABEL,
  OWNER_ANNOTATION,
  STACK_LABEL,
  type LiveObject,
  adoptionOf,
  migrateManagedFields,
  selectPrunable,
  stampOwnership,
} from "./ownership.ts";

const owner = {
  stackId: "stack-1",
  deploymentObjectId: "do-1",
  checksum: "abc",
  agentId: "agent-1",
  appliedAt: new Date("2025-01-02T03:04:05.000Z"),
};

function live(
  name: string,
  overrides: { stack?: string; checksum?: string; ownerId?: string; ownerReferences?: unknown[] } = {},
): LiveObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name,
      labels: { [STACK_LABEL]: overrides.stack ?? "stack-1" },
      annotations: { [CHECKSUM_ANNOTATION]: overrides.checksum ?? "old", [OWNER_ANNOTATION]: overrides.ownerId ?? "agent-1" },
      ...(overrides.ownerReferences ? { ownerReferences: overrides.ownerReferences } : {}),
    },
  };
}

describe("stampOwnership", () => {
  it("adds the stack and object labels and the checksum, time and owner annotations, keeping the user's own", () => {
    const manifest = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "a", labels: { app: "x" }, annotations: { note: "y" } },
    };
    const stamped = stampOwnership(manifest, owner);
    expect(stamped.metadata.labels).toEqual({ app: "x", [STACK_LABEL]: "stack-1", [OBJECT_ID_LABEL]: "do-1" });
    expect(stamped.metadata.annotations).toEqual({
      note: "y",
      [CHECKSUM_ANNOTATION]: "abc",
      [LAST_APPLIED_ANNOTATION]: "2025-01-02T03:04:05.000Z",
      [OWNER_ANNOTATION]: "agent-1",
    });
    expect(manifest.metadata.labels).toEqual({ app: "x" });
  });

  it("overrides a user-supplied value of a Brokkr label", () => {
    const manifest = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", labels: { [STACK_LABEL]: "forged" } } };
    expect(stampOwnership(manifest, owner).metadata.labels?.[STACK_LABEL]).toBe("stack-1");
  });
});

describe("selectPrunable", () => {
  it("selects owned objects of the stack whose checksum differs", () => {
    const objects = [live("stale"), live("current", { checksum: "abc" })];
    expect(selectPrunable(objects, "stack-1", "agent-1", "abc").map((o) => o.metadata?.name)).toEqual(["stale"]);
  });

  it("never selects objects owned by another agent or by a controller", () => {
    const objects = [
      live("other", { ownerId: "agent-2" }),
      live("controlled", { ownerReferences: [{ kind: "ReplicaSet" }] }),
      live("unowned", { ownerId: "" }),
    ];
    expect(selectPrunable(objects, "stack-1", "agent-1", "abc")).toEqual([]);
  });

  it("never selects objects of another stack", () => {
    expect(selectPrunable([live("elsewhere", { stack: "stack-2" })], "stack-1", "agent-1", "abc")).toEqual([]);
  });

  it("selects every owned object of the stack when no checksum is kept", () => {
    const objects = [live("a", { checksum: "abc" }), live("b"), live("c", { ownerId: "agent-2" })];
    expect(selectPrunable(objects, "stack-1", "agent-1", null).map((o) => o.metadata?.name)).toEqual(["a", "b"]);
  });
});

describe("migrateManagedFields", () => {
  const brokkr = {
    manager: "brokkr-controller",
    operation: "Apply",
    apiVersion: "v1",
    fieldsV1: { "f:data": { "f:a": {}, "f:b": {} } },
  };
  const kubectl = { manager: "kubectl-edit", operation: "Update", apiVersion: "v1", fieldsV1: { "f:data": { "f:c": {} } } };

  it("renames Brokkr's entry to this agent's field manager and keeps other managers' entries", () => {
    expect(migrateManagedFields([brokkr, kubectl])).toEqual([kubectl, { ...brokkr, manager: "brokkr-agent" }]);
  });

  it("joins Brokkr's field set to this agent's entry of the same operation", () => {
    const ours = {
      manager: "brokkr-agent",
      operation: "Apply",
      apiVersion: "v1",
      fieldsV1: { "f:data": { "f:a": {}, "f:z": {} } },
    };
    expect(migrateManagedFields([ours, brokkr])).toEqual([
      { ...ours, fieldsV1: { "f:data": { "f:a": {}, "f:z": {}, "f:b": {} } } },
    ]);
  });

  it("has nothing to migrate when Brokkr's manager owns nothing", () => {
    expect(migrateManagedFields([kubectl])).toBeUndefined();
  });
});

describe("adoptionOf", () => {
  const stamped = (
    annotations: Record<string, string>,
    extra: Partial<NonNullable<LiveObject["metadata"]>> = {},
  ): LiveObject => ({
    metadata: {
      name: "x",
      annotations: { [STACK_LABEL]: "stack-1", [OBJECT_ID_LABEL]: "do-1", [OWNER_ANNOTATION]: "agent-1", ...annotations },
      ...extra,
    },
  });

  it("labels an object Brokkr's agent stamped for this agent with annotations only", () => {
    expect(adoptionOf(stamped({}), "agent-1")).toEqual({ labels: { [STACK_LABEL]: "stack-1", [OBJECT_ID_LABEL]: "do-1" } });
  });

  it("leaves objects of another agent, of a controller, or already adopted", () => {
    expect(adoptionOf(stamped({ [OWNER_ANNOTATION]: "agent-2" }), "agent-1")).toBeUndefined();
    expect(adoptionOf(stamped({}, { ownerReferences: [{ kind: "ReplicaSet" }] }), "agent-1")).toBeUndefined();
    expect(adoptionOf(stamped({}, { labels: { [STACK_LABEL]: "stack-1" } }), "agent-1")).toBeUndefined();
  });

  it("migrates only the managed fields of a labelled object Brokkr's agent applied again", () => {
    const managedFields = [{ manager: "brokkr-controller", operation: "Apply", fieldsV1: {} }];
    expect(adoptionOf(stamped({}, { labels: { [STACK_LABEL]: "stack-1" }, managedFields }), "agent-1")).toEqual({
      managedFields: [{ manager: "brokkr-agent", operation: "Apply", fieldsV1: {} }],
    });
  });
});
