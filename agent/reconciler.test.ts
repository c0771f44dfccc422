import { createHash } from "node:crypto";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeKube, startFakeKube } from "../test/fake-kube/index.ts";
import type { AgentEventReport, DeploymentEvent } from "./broker/types.ts";
import { type ApplyOutcome, type DeploymentObjectInput, KubeApplier } from "./kube/applier.ts";
import { createKubeClients, loadKubeConfig } from "./kube/client.ts";
import { createAgentMetrics } from "./metrics.ts";
import { type Applier, Reconciler, type Sleep } from "./reconciler.ts";
import { Channel } from "./test-support/channel.ts";

const logger = pino({ level: "silent" });

/** The tiny stand-in for the broker client: it only collects reports. */
function fakeBroker() {
  const reports = new Channel<AgentEventReport>();
  return { reports, reporter: { reportEvent: async (r: AgentEventReport) => reports.push(r) } };
}

/** Backoff waits the test releases by hand; a newer object cuts them short through the signal. */
function manualSleep() {
  const waits = new Channel<{ ms: number; release: () => void }>();
  const sleep: Sleep = (ms, signal) =>
    new Promise((resolve) => {
      signal.addEventListener("abort", () => resolve(), { once: true });
      waits.push({ ms, release: resolve });
    });
  return { waits, sleep };
}

let sequence = 0;
function deploy(stackId: string, yamlContent: string, isDeletionMarker = false): DeploymentEvent {
  sequence++;
  const yamlChecksum = createHash("sha256").update(yamlContent).digest("hex");
  return {
    type: "DEPLOY",
    stackId,
    deploymentObject: { id: `do-${sequence}`, sequenceId: String(sequence), yamlContent, yamlChecksum, isDeletionMarker },
  };
}

const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  k: v\n`;

class ScriptedApplier implements Applier {
  readonly calls: string[] = [];
  readonly done = new Channel<string>();
  /** What `ownedStackIds` finds in the cluster; an Error makes the listing fail. */
  owned: string[] | Error = [];
  constructor(private readonly failing: Set<string>) {}
  /** Calls of the take-over; the next ones fail while `adoptFailure` is set. */
  adoptions = 0;
  adoptFailure: Error | undefined;
  async ownedStackIds(): Promise<string[]> {
    if (this.owned instanceof Error) throw this.owned;
    return this.owned;
  }
  async adoptBrokkrResources(_yamlContents: string[]): Promise<number> {
    this.adoptions++;
    if (this.adoptFailure) throw this.adoptFailure;
    return 0;
  }
  async apply(obj: DeploymentObjectInput): Promise<ApplyOutcome> {
    this.calls.push(obj.id);
    this.done.push(obj.id);
    if (this.failing.has(obj.id)) throw new Error(`cannot apply ${obj.id}`);
    return { status: "applied", applied: 1, pruned: 0 };
  }
  async deleteStack(stackId: string): Promise<ApplyOutcome> {
    this.calls.push(`delete:${stackId}`);
    this.done.push(`delete:${stackId}`);
    return { status: "deleted", applied: 0, pruned: 0 };
  }
}

describe("Reconciler", () => {
  let kube: FakeKube | undefined;
  let reconciler: Reconciler | undefined;
  afterEach(async () => {
    await reconciler?.stop();
    await kube?.stop();
    kube = reconciler = undefined;
  });

  it("applies delivered objects and reports success for each", async () => {
    kube = await startFakeKube();
    const { reports, reporter } = fakeBroker();
    const applier = new KubeApplier({
      objects: createKubeClients(loadKubeConfig(kube.kubeconfigPath)).objects,
      agentId: "agent-1",
      defaultNamespace: "default",
      logger,
    });
    const metrics = createAgentMetrics();
    reconciler = new Reconciler({ applier, reporter, logger, metrics });
    const a = deploy("stack-a", configMap("a"));
    const b = deploy("stack-b", configMap("b"));
    reconciler.handle(a);
    reconciler.handle(b);
    const got = [await reports.next(), await reports.next()].sort((x, y) =>
      x.deploymentObjectId.localeCompare(y.deploymentObjectId),
    );
    expect(got).toEqual([
      { deploymentObjectId: a.deploymentObject!.id, status: "SUCCESS", message: null, eventType: "APPLY" },
      { deploymentObjectId: b.deploymentObject!.id, status: "SUCCESS", message: null, eventType: "APPLY" },
    ]);
    expect(
      kube
        .list("v1", "ConfigMap")
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(["a", "b"]);
    expect(reconciler.cursor()).toBe(b.deploymentObject!.sequenceId);
    expect((await metrics.registry.getSingleMetric("brokkr_agent_applies_total")?.get())?.values[0]?.value).toBe(2);
  });

  it("retries a failed object with growing backoff until a newer object supersedes it", async () => {
    const first = deploy("stack-a", "broken");
    const second = deploy("stack-a", "fixed");
    const applier = new ScriptedApplier(new Set([first.deploymentObject!.id]));
    const { reports, reporter } = fakeBroker();
    const { waits, sleep } = manualSleep();
    reconciler = new Reconciler({ applier, reporter, logger, sleep, retryBaseMs: 100 });
    reconciler.handle(first);
    expect(await reports.next()).toMatchObject({
      deploymentObjectId: first.deploymentObject!.id,
      status: "FAILURE",
      message: `cannot apply ${first.deploymentObject!.id}`,
    });
    const wait1 = await waits.next();
    wait1.release();
    const wait2 = await waits.next();
    expect([wait1.ms, wait2.ms]).toEqual([100, 200]);
    expect(applier.calls).toEqual([first.deploymentObject!.id, first.deploymentObject!.id]);
    reconciler.handle(second);
    expect(await reports.next()).toMatchObject({ deploymentObjectId: second.deploymentObject!.id, status: "SUCCESS" });
    await reconciler.stop();
    expect(applier.calls).toEqual([first.deploymentObject!.id, first.deploymentObject!.id, second.deploymentObject!.id]);
    expect(reports.all.filter((r) => r.status === "FAILURE")).toHaveLength(1);
  });

  it("lets a newer event waiting in line supersede an older one that was never started", async () => {
    const applier = new ScriptedApplier(new Set());
    const { reports, reporter } = fakeBroker();
    reconciler = new Reconciler({ applier, reporter, logger });
    const first = deploy("stack-a", configMap("1"));
    const second = deploy("stack-a", configMap("2"));
    const third = deploy("stack-a", configMap("3"));
    reconciler.handle(first);
    reconciler.handle(second);
    reconciler.handle(third);
    await reports.next();
    expect(await reports.next()).toMatchObject({ deploymentObjectId: third.deploymentObject!.id });
    expect(applier.calls).toEqual([first.deploymentObject!.id, third.deploymentObject!.id]);
  });

  it("ignores a repeated or older object of a stack but applies the latest again after re-targeting", async () => {
    const applier = new ScriptedApplier(new Set());
    const { reports, reporter } = fakeBroker();
    reconciler = new Reconciler({ applier, reporter, logger });
    const older = deploy("stack-a", configMap("x"));
    const latest = deploy("stack-a", configMap("y"));
    reconciler.handle(latest);
    await reports.next();
    reconciler.handle(older);
    reconciler.handle(latest);
    reconciler.handle({ type: "UNTARGETED", stackId: "stack-a", deploymentObject: null });
    await applier.done.next();
    expect(await applier.done.next()).toBe("delete:stack-a");
    reconciler.handle(latest);
    expect(await reports.next()).toMatchObject({ deploymentObjectId: latest.deploymentObject!.id, status: "SUCCESS" });
    await reconciler.stop();
    expect(applier.calls).toEqual([latest.deploymentObject!.id, "delete:stack-a", latest.deploymentObject!.id]);
  });

  it("keeps a successful apply in place when later deliveries arrive, including a replay after restart", async () => {
    kube = await startFakeKube();
    const objects = () => createKubeClients(loadKubeConfig(kube!.kubeconfigPath)).objects;
    const { reports, reporter } = fakeBroker();
    const a = deploy("stack-a", configMap("a1") + "---\n" + configMap("a2"));
    reconciler = new Reconciler({
      applier: new KubeApplier({ objects: objects(), agentId: "agent-1", defaultNamespace: "default", logger }),
      reporter,
      logger,
    });
    reconciler.handle(a);
    await reports.next();
    reconciler.handle(deploy("stack-b", configMap("b1")));
    await reports.next();
    reconciler.handle(deploy("stack-b", configMap("b2")));
    await reports.next();
    await reconciler.stop();
    // A restarted agent starts from cursor 0 and gets every stack's latest object again.
    reconciler = new Reconciler({
      applier: new KubeApplier({ objects: objects(), agentId: "agent-1", defaultNamespace: "default", logger }),
      reporter,
      logger,
    });
    kube.resetRequests();
    reconciler.handle(a);
    expect(await reports.next()).toMatchObject({ deploymentObjectId: a.deploymentObject!.id, status: "SUCCESS" });
    expect(kube.writeCount()).toBe(0);
    expect(
      kube
        .list("v1", "ConfigMap", { labelSelector: "k8s.brokkr.io/stack" })
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(["a1", "a2", "b2"]);
  });

  it("untargets on the reconnect reconcile the stacks it deployed or owns that the target state lacks, without moving the cursor", async () => {
    const applier = new ScriptedApplier(new Set());
    const { reports, reporter } = fakeBroker();
    reconciler = new Reconciler({ applier, reporter, logger });
    const a = deploy("stack-a", configMap("a"));
    const b = deploy("stack-b", configMap("b"));
    reconciler.handle(a);
    reconciler.handle(b);
    await reports.next();
    await reports.next();
    const d = deploy("stack-d", configMap("d"));
    applier.owned = ["stack-b", "stack-c"];
    expect(await reconciler.reconcileOnReconnect([b, d])).toEqual(["stack-a", "stack-c"]);
    expect(await reports.next()).toMatchObject({ deploymentObjectId: d.deploymentObject!.id, status: "SUCCESS" });
    await reconciler.stop();
    expect(applier.calls.slice(2).sort()).toEqual(["delete:stack-a", "delete:stack-c", d.deploymentObject!.id]);
    expect(reconciler.cursor()).toBe(b.deploymentObject!.sequenceId);
    expect([...reconciler.appliedObjects()]).toEqual([
      ["stack-b", b.deploymentObject!.id],
      ["stack-d", d.deploymentObject!.id],
    ]);
  });

  it("reconciles on reconnect against what it deployed when listing owned resources fails", async () => {
    const applier = new ScriptedApplier(new Set());
    const { reports, reporter } = fakeBroker();
    reconciler = new Reconciler({ applier, reporter, logger });
    reconciler.handle(deploy("stack-a", configMap("a")));
    await reports.next();
    applier.owned = new Error("the API server is down");
    expect(await reconciler.reconcileOnReconnect([])).toEqual(["stack-a"]);
    expect(await applier.done.find((call) => call.startsWith("delete:"))).toBe("delete:stack-a");
  });

  it("untargets on a poll reconcile the stacks it deployed that the target state lacks, without listing the cluster", async () => {
    const applier = new ScriptedApplier(new Set());
    const { reports, reporter } = fakeBroker();
    reconciler = new Reconciler({ applier, reporter, logger });
    const a = deploy("stack-a", configMap("a"));
    const b = deploy("stack-b", configMap("b"));
    reconciler.handle(a);
    reconciler.handle(b);
    await reports.next();
    await reports.next();
    applier.owned = new Error("must not list the cluster on every poll");
    expect(reconciler.reconcileTargetState([b])).toEqual(["stack-a"]);
    expect(await applier.done.find((call) => call.startsWith("delete:"))).toBe("delete:stack-a");
    expect(reconciler.reconcileTargetState([b])).toEqual([]);
  });

  it("does not untarget again a stack already untargeted and gone", async () => {
    const applier = new ScriptedApplier(new Set());
    const { reporter } = fakeBroker();
    reconciler = new Reconciler({ applier, reporter, logger });
    reconciler.handle(deploy("stack-a", configMap("a")));
    reconciler.handle({ type: "UNTARGETED", stackId: "stack-a", deploymentObject: null });
    await applier.done.find((call) => call === "delete:stack-a");
    expect(await reconciler.reconcileOnReconnect([])).toEqual([]);
  });

  it("deletes the stack on a deletion marker, reports it as DELETE and forgets what was applied", async () => {
    const applier = new ScriptedApplier(new Set());
    const { reports, reporter } = fakeBroker();
    reconciler = new Reconciler({ applier, reporter, logger });
    reconciler.handle(deploy("stack-a", configMap("a")));
    await reports.next();
    const marker = deploy("stack-a", "", true);
    reconciler.handle(marker);
    expect(await reports.next()).toEqual({
      deploymentObjectId: marker.deploymentObject!.id,
      status: "SUCCESS",
      message: null,
      eventType: "DELETE",
    });
    expect(applier.calls.slice(1)).toEqual(["delete:stack-a"]);
    expect([...reconciler.appliedObjects()]).toEqual([]);
  });

  it("applies again the content it had applied when an attempt at other content failed in between", async () => {
    const good = deploy("stack-a", configMap("good"));
    const broken = deploy("stack-a", configMap("broken"));
    const applier = new ScriptedApplier(new Set([broken.deploymentObject!.id]));
    const { reports, reporter } = fakeBroker();
    const { waits, sleep } = manualSleep();
    reconciler = new Reconciler({ applier, reporter, logger, sleep });
    reconciler.handle(good);
    await reports.next();
    reconciler.handle(broken);
    expect(await reports.next()).toMatchObject({ deploymentObjectId: broken.deploymentObject!.id, status: "FAILURE" });
    await waits.next();
    const goodAgain = deploy("stack-a", configMap("good"));
    reconciler.handle(goodAgain);
    expect(await reports.next()).toMatchObject({ deploymentObjectId: goodAgain.deploymentObject!.id, status: "SUCCESS" });
    expect(applier.calls).toEqual([good.deploymentObject!.id, broken.deploymentObject!.id, goodAgain.deploymentObject!.id]);
  });

  it("does not hand an object whose checksum is already applied to the applier, and reports it applied", async () => {
    const applier = new ScriptedApplier(new Set());
    const { reports, reporter } = fakeBroker();
    reconciler = new Reconciler({ applier, reporter, logger });
    const first = deploy("stack-a", configMap("same"));
    const again = deploy("stack-a", configMap("same"));
    reconciler.handle(first);
    await reports.next();
    reconciler.handle(again);
    expect(await reports.next()).toMatchObject({ deploymentObjectId: again.deploymentObject!.id, status: "SUCCESS" });
    expect(applier.calls).toEqual([first.deploymentObject!.id]);
    expect([...reconciler.appliedObjects()]).toEqual([["stack-a", again.deploymentObject!.id]]);
  });

  it("reports the Kubernetes Status message when an apply fails", async () => {
    kube = await startFakeKube();
    const { reports, reporter } = fakeBroker();
    const { sleep } = manualSleep();
    const applier = new KubeApplier({
      objects: createKubeClients(loadKubeConfig(kube.kubeconfigPath)).objects,
      agentId: "agent-1",
      defaultNamespace: "default",
      logger,
    });
    reconciler = new Reconciler({ applier, reporter, logger, sleep });
    const obj = deploy("stack-a", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: nowhere\n");
    reconciler.handle(obj);
    expect(await reports.next()).toMatchObject({
      status: "FAILURE",
      message: 'Kubernetes API 404 NotFound: namespaces "nowhere" not found',
    });
    expect(reconciler.status().failingStacks).toEqual(["stack-a"]);
  });
});
