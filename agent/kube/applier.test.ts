import { createHash } from "node:crypto";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeKube, startFakeKube } from "../../test/fake-kube/index.ts";
import { type DeploymentObjectInput, KubeApplier } from "./applier.ts";
import { createKubeClients, loadKubeConfig } from "./client.ts";
import { CHECKSUM_ANNOTATION, OBJECT_ID_LABEL, OWNER_ANNOTATION, STACK_LABEL, LAST_APPLIED_ANNOTATION } from "./ownership.ts";

let kube: FakeKube;
let seq = 0;

beforeEach(async () => {
  kube = await startFakeKube();
});
afterEach(async () => kube.stop());

function applierFor(agentId = "agent-1"): KubeApplier {
  const { objects } = createKubeClients(loadKubeConfig(kube.kubeconfigPath));
  return new KubeApplier({
    objects,
    agentId,
    defaultNamespace: "default",
    logger: pino({ level: "silent" }),
    retry: { attempts: 5, baseMs: 1, maxMs: 2 },
    crdPollMs: 5,
  });
}

function deploymentObject(stackId: string, yamlContent: string): DeploymentObjectInput {
  seq++;
  const yamlChecksum = createHash("sha256").update(yamlContent).digest("hex");
  return { id: `do-${seq}`, stackId, yamlContent, yamlChecksum };
}

const configMap = (name: string, extra = "", namespace?: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ""}data:\n  key: "${name}${extra}"\n`;

const cm = (name: string, namespace = "default") => kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace, name });

describe("KubeApplier against the fake API server", () => {
  it("creates objects with the stack's labels and ownership annotations in the default namespace", async () => {
    const obj = deploymentObject("stack-a", configMap("one"));
    const outcome = await applierFor().apply(obj);
    expect(outcome).toEqual({ status: "applied", applied: 1, pruned: 0 });
    const live = cm("one");
    expect(live?.metadata.labels).toMatchObject({ [STACK_LABEL]: "stack-a", [OBJECT_ID_LABEL]: obj.id });
    expect(live?.metadata.annotations).toMatchObject({ [CHECKSUM_ANNOTATION]: obj.yamlChecksum, [OWNER_ANNOTATION]: "agent-1" });
    expect(Date.parse(live?.metadata.annotations[LAST_APPLIED_ANNOTATION])).not.toBeNaN();
    expect(live?.metadata.managedFields[0].manager).toBe("brokkr-agent");
  });

  it("makes no write when the same checksum is applied again, also by a freshly started agent, as the live checksums say", async () => {
    const obj = deploymentObject("stack-a", configMap("one") + "---\n" + configMap("two"));
    const applier = applierFor();
    await applier.apply(obj);
    kube.resetRequests();
    expect((await applier.apply(obj)).status).toBe("unchanged");
    expect((await applierFor().apply(obj)).status).toBe("unchanged");
    expect(kube.writeCount()).toBe(0);
  });

  it("applies a new version and prunes the resources only the old version had", async () => {
    const applier = applierFor();
    await applier.apply(deploymentObject("stack-a", configMap("keep") + "---\n" + configMap("drop")));
    const next = deploymentObject("stack-a", configMap("keep", "-v2"));
    expect(await applier.apply(next)).toEqual({ status: "applied", applied: 1, pruned: 1 });
    expect(cm("drop")).toBeUndefined();
    expect(cm("keep")?.data.key).toBe("keep-v2");
    expect(cm("keep")?.metadata.annotations[CHECKSUM_ANNOTATION]).toBe(next.yamlChecksum);
  });

  it("does not prune resources of the stack owned by another agent or by a controller", async () => {
    await applierFor("agent-2").apply(deploymentObject("stack-a", configMap("theirs")));
    const controlled = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: controlled\n  ownerReferences:\n  - apiVersion: apps/v1\n    kind: ReplicaSet\n    name: rs\n    uid: "1"\n`;
    const applier = applierFor();
    await applier.apply(deploymentObject("stack-a", controlled));
    await applier.apply(deploymentObject("stack-a", configMap("mine")));
    expect(cm("theirs")).toBeDefined();
    expect(cm("controlled")).toBeDefined();
    expect(cm("mine")).toBeDefined();
    expect(kube.writeCount("DELETE")).toBe(0);
  });

  it("deletes the stack's owned resources and leaves other stacks alone", async () => {
    const applier = applierFor();
    await applier.apply(deploymentObject("stack-a", configMap("a1") + "---\n" + configMap("a2")));
    await applier.apply(deploymentObject("stack-b", configMap("b1")));
    const outcome = await applier.deleteStack("stack-a");
    expect(outcome).toEqual({ status: "deleted", applied: 0, pruned: 2 });
    expect(kube.list("v1", "ConfigMap", { labelSelector: STACK_LABEL }).map((o) => o.metadata.name)).toEqual(["b1"]);
  });

  it("finds the stacks it owns resources of after a restart, not other agents' stacks", async () => {
    await applierFor().apply(deploymentObject("stack-a", configMap("a1")));
    await applierFor().apply(
      deploymentObject(
        "stack-b",
        `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: b-ns\n---\n${configMap("b1", "", "b-ns")}`,
      ),
    );
    await applierFor("agent-2").apply(deploymentObject("stack-c", configMap("c1")));
    expect(await applierFor().ownedStackIds()).toEqual(["stack-a", "stack-b"]);
  });

  it("skips a kind it may not list when looking for its resources", async () => {
    const applier = applierFor();
    await applier.apply(deploymentObject("stack-a", configMap("a1")));
    kube.injectFault({ status: 403, times: 2, match: { method: "GET", path: "/clusterroles" } });
    expect(await applier.ownedStackIds()).toEqual(["stack-a"]);
    expect(await applier.apply(deploymentObject("stack-a", configMap("a2")))).toMatchObject({ status: "applied", pruned: 1 });
  });

  it("counts a 404 on delete as done", async () => {
    const applier = applierFor();
    await applier.apply(deploymentObject("stack-a", configMap("gone")));
    kube.injectFault({ status: 404, times: 1, match: { method: "DELETE" } });
    await expect(applier.deleteStack("stack-a")).resolves.toMatchObject({ status: "deleted", pruned: 1 });
  });

  it("retries injected 503s and succeeds", async () => {
    kube.injectFault({ status: 503, times: 3, match: { method: "PATCH", path: "/configmaps/one" } });
    await applierFor().apply(deploymentObject("stack-a", configMap("one")));
    expect(cm("one")).toBeDefined();
    expect(
      kube
        .requests()
        .filter((r) => r.method === "PATCH")
        .map((r) => r.status),
    ).toEqual([503, 503, 503, 201]);
  });

  it("gives up on a non-transient error without retrying", async () => {
    kube.injectFault({ status: 403, times: 5, match: { method: "PATCH" } });
    await expect(applierFor().apply(deploymentObject("stack-a", configMap("one")))).rejects.toMatchObject({ code: 403 });
    expect(kube.writeCount("PATCH")).toBe(1);
  });

  it("applies a namespaced object whose namespace comes later in the same YAML", async () => {
    const yaml = configMap("inside", "", "team") + "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n";
    await applierFor().apply(deploymentObject("stack-a", yaml));
    expect(cm("inside", "team")).toBeDefined();
    expect(kube.get({ apiVersion: "v1", kind: "Namespace", name: "team" })?.metadata.labels[STACK_LABEL]).toBe("stack-a");
  });

  it("fails with 404 for an object in a namespace that does not exist", async () => {
    await expect(applierFor().apply(deploymentObject("stack-a", configMap("x", "", "missing")))).rejects.toMatchObject({
      code: 404,
    });
  });

  it("applies a CRD and a custom resource of it from one YAML", async () => {
    const yaml = [
      "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: 2",
      "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  scope: Namespaced\n  names:\n    kind: Widget\n    plural: widgets\n  versions:\n  - name: v1\n    served: true\n    storage: true",
    ].join("\n---\n");
    const applier = applierFor();
    await applier.apply(deploymentObject("stack-a", yaml));
    expect(kube.list("example.com/v1", "Widget").map((w) => [w.metadata.namespace, w.spec.size])).toEqual([["default", 2]]);
    await applier.apply(deploymentObject("stack-a", configMap("only")));
    expect(kube.requests().some((r) => r.method === "DELETE" && r.path.includes("/widgets/w1"))).toBe(true);
  });

  it("finds custom resources of the stack's CRDs after a restart when pruning", async () => {
    const yaml = [
      "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: gadgets.example.com\nspec:\n  group: example.com\n  scope: Cluster\n  names:\n    kind: Gadget\n    plural: gadgets\n  versions:\n  - name: v1\n    served: true\n    storage: true",
      "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g1\n",
    ].join("\n---\n");
    await applierFor().apply(deploymentObject("stack-a", yaml));
    await applierFor().deleteStack("stack-a");
    expect(
      kube
        .requests()
        .filter((r) => r.method === "DELETE")
        .map((r) => r.path),
    ).toEqual(["/apis/example.com/v1/gadgets/g1", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com"]);
  });

  it("fails the whole object on bad YAML with the line, and writes nothing", async () => {
    const yaml = configMap("fine") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n";
    await expect(applierFor().apply(deploymentObject("stack-a", yaml))).rejects.toThrow(/line \d+, column \d+/);
    expect(kube.writeCount()).toBe(0);
  });
});
