import { createHash } from "node:crypto";
import { PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type FakeKube, startFakeKube } from "../test/fake-kube/index.ts";
import type { AgentEventReport, DeploymentEvent } from "./broker/types.ts";
import { KubeApplier } from "./kube/applier.ts";
import { type AgentObjectApi, createKubeClients, loadKubeConfig } from "./kube/client.ts";
import { parseManifests } from "./kube/manifest.ts";
import { BROKKR_FIELD_MANAGER, FIELD_MANAGER, STACK_LABEL } from "./kube/ownership.ts";
import { Reconciler } from "./reconciler.ts";
import { Channel } from "./test-support/channel.ts";

const AGENT = "7b0c2a3e-5d1f-4c7a-9e2b-1f3d5a7c9e01";
const logger = pino({ level: "silent" });

let kube: FakeKube;
let objects: AgentObjectApi;
let reconciler: Reconciler | undefined;
let reports: Channel<AgentEventReport>;

beforeEach(async () => {
  kube = await startFakeKube();
  objects = createKubeClients(loadKubeConfig(kube.kubeconfigPath)).objects;
  reports = new Channel();
});
afterEach(async () => {
  await reconciler?.stop();
  reconciler = undefined;
  await kube.stop();
});

/** Our agent, freshly started with the identity Brokkr's agent had (imported by `npm run import:brokkr`). */
function startOurAgent(listPageSize?: number): Reconciler {
  const applier = new KubeApplier({
    objects,
    agentId: AGENT,
    defaultNamespace: "default",
    logger,
    retry: { attempts: 3, baseMs: 1, maxMs: 2 },
    listPageSize,
  });
  reconciler = new Reconciler({ applier, reporter: { reportEvent: async (r) => reports.push(r) }, logger, retryBaseMs: 1 });
  return reconciler;
}

let sequence = 0;
function deploy(stackId: string, yamlContent: string, isDeletionMarker = false): DeploymentEvent {
  sequence++;
  const yamlChecksum = createHash("sha256").update(yamlContent).digest("hex");
  return {
    type: "DEPLOY",
    stackId,
    deploymentObject: {
      id: `00000000-0000-4000-8000-${String(sequence).padStart(12, "0")}`,
      sequenceId: String(sequence),
      yamlContent,
      yamlChecksum,
      isDeletionMarker,
    },
  };
}

/**
 * What Brokkr's agent leaves (reference §1.4): its five annotations, no labels, each document
 * server-side applied with field manager `brokkr-controller` and force, in `default`.
 */
async function appliedByBrokkr(event: DeploymentEvent, ownerId = AGENT, ownerReferences?: object[]): Promise<void> {
  const obj = event.deploymentObject!;
  for (const manifest of parseManifests(obj.yamlContent)) {
    manifest.metadata.namespace ??= "default";
    manifest.metadata.annotations = {
      ...manifest.metadata.annotations,
      "k8s.brokkr.io/stack": event.stackId,
      "k8s.brokkr.io/deployment-checksum": obj.yamlChecksum,
      "brokkr.io/deployment-object-id": obj.id,
      "k8s.brokkr.io/last-config-applied": obj.yamlChecksum,
      "brokkr.io/owner-id": ownerId,
    };
    if (ownerReferences) manifest.metadata.ownerReferences = ownerReferences;
    await objects.patch(
      manifest as KubernetesObject,
      undefined,
      undefined,
      BROKKR_FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
    );
  }
}

const configMap = (name: string, data: Record<string, string>) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  labels:\n    app: web\ndata:\n${Object.entries(data)
    .map(([k, v]) => `  ${k}: "${v}"\n`)
    .join("")}`;
const cm = (name: string) => kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name });
const managersOf = (name: string) => (cm(name)?.metadata.managedFields ?? []).map((e: { manager: string }) => e.manager);
const writesTo = (name: string) => kube.requests().filter((r) => r.method !== "GET" && r.path.endsWith(`/configmaps/${name}`));

describe("taking a cluster over from Brokkr's agent", () => {
  it("keeps an object of the same content in place, neither re-created nor duplicated, and leaves no field to brokkr-controller", async () => {
    const object = deploy("stack-a", configMap("same", { a: "1" }));
    await appliedByBrokkr(object);
    const uid = cm("same")?.metadata.uid;
    kube.resetRequests();
    await startOurAgent().reconcileOnReconnect([object]);
    expect(await reports.next()).toMatchObject({ deploymentObjectId: object.deploymentObject!.id, status: "SUCCESS" });
    expect(
      kube
        .list("v1", "ConfigMap")
        .filter((o) => o.metadata.name === "same")
        .map((o) => o.metadata.uid),
    ).toEqual([uid]);
    expect(kube.writeCount("POST") + kube.writeCount("DELETE")).toBe(0);
    expect(cm("same")?.metadata.labels).toMatchObject({ app: "web", [STACK_LABEL]: "stack-a" });
    expect(managersOf("same")).not.toContain(BROKKR_FIELD_MANAGER);
    expect(cm("same")?.data).toEqual({ a: "1" });
  });

  it("applies a new object over Brokkr's: no field stays owned by brokkr-controller and a field the new object dropped is removed", async () => {
    await appliedByBrokkr(deploy("stack-a", configMap("web", { a: "1", dropped: "2" })));
    const next = deploy("stack-a", configMap("web", { a: "3" }));
    await startOurAgent().reconcileOnReconnect([next]);
    expect(await reports.next()).toMatchObject({ deploymentObjectId: next.deploymentObject!.id, status: "SUCCESS" });
    expect(cm("web")?.data).toEqual({ a: "3" });
    expect(managersOf("web").every((m: string) => m === FIELD_MANAGER)).toBe(true);
    expect(cm("web")?.metadata.annotations["k8s.brokkr.io/deployment-checksum"]).toBe(next.deploymentObject!.yamlChecksum);
  });

  it("deletes the resources of a Brokkr-applied stack on its deletion marker", async () => {
    await appliedByBrokkr(deploy("stack-a", `${configMap("one", { a: "1" })}---\n${configMap("two", { a: "2" })}`));
    const marker = deploy("stack-a", "", true);
    await startOurAgent().reconcileOnReconnect([marker]);
    expect(await reports.next()).toMatchObject({
      deploymentObjectId: marker.deploymentObject!.id,
      status: "SUCCESS",
      eventType: "DELETE",
    });
    expect([cm("one"), cm("two")]).toEqual([undefined, undefined]);
  });

  it("removes on reconnect a Brokkr-applied stack untargeted while no agent ran, and keeps the targeted one", async () => {
    await appliedByBrokkr(deploy("stack-gone", configMap("gone", { a: "1" })));
    const kept = deploy("stack-kept", configMap("kept", { a: "1" }));
    await appliedByBrokkr(kept);
    expect(await startOurAgent().reconcileOnReconnect([kept])).toEqual(["stack-gone"]);
    await vi.waitFor(() => expect(cm("gone")).toBeUndefined());
    expect(cm("kept")).toBeDefined();
  });

  it("never touches resources of another agent id or with an ownerReference, whether pruning, deleting or adopting", async () => {
    await appliedByBrokkr(deploy("stack-a", configMap("theirs", { a: "1" })), "another-agent-id");
    await appliedByBrokkr(deploy("stack-a", configMap("controlled", { a: "1" })), AGENT, [
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "1" },
    ]);
    await appliedByBrokkr(deploy("stack-a", configMap("mine", { a: "1" })));
    const before = [cm("theirs"), cm("controlled")];
    kube.resetRequests();
    const marker = deploy("stack-a", "", true);
    await startOurAgent().reconcileOnReconnect([marker]);
    await reports.next();
    expect(cm("mine")).toBeUndefined();
    expect([cm("theirs"), cm("controlled")]).toEqual(before);
    expect([...writesTo("theirs"), ...writesTo("controlled")]).toEqual([]);
  });

  it("takes over once per process, and on the next reconnect when the attempt failed, then handles a deletion marker again", async () => {
    await appliedByBrokkr(deploy("stack-a", configMap("first", { a: "1" })));
    kube.injectFault({ status: 403, times: 1, match: { method: "PATCH", path: "/configmaps/first" } });
    const marker = deploy("stack-a", "", true);
    const agent = startOurAgent();
    await agent.reconcileOnReconnect([marker]);
    expect(await reports.next()).toMatchObject({ deploymentObjectId: marker.deploymentObject!.id, status: "SUCCESS" });
    expect(cm("first")?.metadata.labels[STACK_LABEL]).toBeUndefined();
    await agent.reconcileOnReconnect([marker]);
    await vi.waitFor(() => expect(cm("first")).toBeUndefined());
    await appliedByBrokkr(deploy("stack-b", configMap("later", { a: "1" })));
    await agent.reconcileOnReconnect([marker]);
    expect(cm("later")?.metadata.labels?.[STACK_LABEL]).toBeUndefined();
  });

  it("reads the cluster page by page when looking for Brokkr's resources", async () => {
    for (const name of ["p1", "p2", "p3", "p4", "p5"]) await appliedByBrokkr(deploy("stack-a", configMap(name, { a: "1" })));
    await startOurAgent(2).reconcileOnReconnect([]);
    await vi.waitFor(() => expect(kube.list("v1", "ConfigMap").filter((o) => o.metadata.name.startsWith("p"))).toEqual([]));
  });

  it("adopts custom resources of a kind that only the target state names (its CRD installed by someone else)", async () => {
    const crd =
      "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  scope: Namespaced\n  names:\n    kind: Widget\n    plural: widgets\n  versions:\n  - name: v1\n    served: true\n    storage: true\n";
    await objects.patch(
      parseManifests(crd)[0] as KubernetesObject,
      undefined,
      undefined,
      "platform-team",
      true,
      PatchStrategy.ServerSideApply,
    );
    const widget = deploy("stack-a", "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: 2\n");
    await appliedByBrokkr(widget);
    await startOurAgent().reconcileOnReconnect([widget]);
    await reports.next();
    const live = kube.get({ apiVersion: "example.com/v1", kind: "Widget", namespace: "default", name: "w1" });
    expect(live?.metadata.labels[STACK_LABEL]).toBe("stack-a");
    expect(live?.metadata.managedFields.map((e: { manager: string }) => e.manager)).toEqual([FIELD_MANAGER, FIELD_MANAGER]);
  });

  it("migrates an object this agent applied that Brokkr's agent re-applied since (a rollback and back)", async () => {
    const first = startOurAgent();
    const v1 = deploy("stack-a", configMap("web", { a: "1" }));
    await first.reconcileOnReconnect([v1]);
    await reports.next();
    await first.stop();
    await appliedByBrokkr(deploy("stack-a", configMap("web", { a: "1", extra: "2" })));
    const v2 = deploy("stack-a", configMap("web", { a: "2" }));
    await startOurAgent().reconcileOnReconnect([v2]);
    expect(await reports.next()).toMatchObject({ deploymentObjectId: v2.deploymentObject!.id, status: "SUCCESS" });
    expect(cm("web")?.data).toEqual({ a: "2" });
    expect(managersOf("web")).not.toContain(BROKKR_FIELD_MANAGER);
  });
});
