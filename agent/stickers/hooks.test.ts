import { createHash } from "node:crypto";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { DeploymentEvent } from "../broker/types.ts";
import type { ApplyOutcome, DeploymentObjectInput } from "../kube/applier.ts";
import { type Applier, Reconciler } from "../reconciler.ts";
import { Channel } from "../test-support/channel.ts";

let sequence = 0;
function deploy(stackId: string): DeploymentEvent {
  sequence++;
  const yamlContent = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c${sequence}\n`;
  const yamlChecksum = createHash("sha256").update(yamlContent).digest("hex");
  return {
    type: "DEPLOY",
    stackId,
    deploymentObject: { id: `do-${sequence}`, sequenceId: String(sequence), yamlContent, yamlChecksum, isDeletionMarker: false },
  };
}

/** Applies when the test says so; objects named in `failing` fail. */
class GatedApplier implements Applier {
  readonly started = new Channel<string>();
  private readonly gates = new Map<string, () => void>();
  constructor(private readonly failing = new Set<string>()) {}
  release(id: string) {
    this.gates.get(id)?.();
  }
  async apply(obj: DeploymentObjectInput): Promise<ApplyOutcome> {
    await new Promise<void>((resolve) => {
      this.gates.set(obj.id, resolve);
      this.started.push(obj.id);
    });
    if (this.failing.has(obj.id)) throw new Error(`cannot apply ${obj.id}`);
    return { status: "applied", applied: 1, pruned: 0 };
  }
  async deleteStack(): Promise<ApplyOutcome> {
    return { status: "deleted", applied: 0, pruned: 0 };
  }
  async ownedStackIds() {
    return [];
  }
  async adoptBrokkrResources() {
    return 0;
  }
}

function reconcilerWith(applier: Applier) {
  const applied = new Channel<string>();
  const pending: string[] = [];
  const reports = new Channel<string>();
  const reconciler = new Reconciler({
    applier,
    reporter: { reportEvent: async (r) => reports.push(`${r.status}:${r.deploymentObjectId}`) },
    logger: pino({ level: "silent" }),
    retryBaseMs: 3_600_000,
    onApplied: (e) => applied.push(e.deploymentObject?.id ?? ""),
    onPending: (stackId) => void pending.push(stackId),
  });
  return { reconciler, applied, pending, reports };
}

describe("the reconciler's hooks for version stickers", () => {
  it("announces new work for a stack, then its success, and nothing after a failure", async () => {
    const ok = deploy("s1");
    const bad = deploy("s2");
    const applier = new GatedApplier(new Set([bad.deploymentObject!.id]));
    const r = reconcilerWith(applier);
    r.reconciler.handle(ok);
    r.reconciler.handle(bad);
    expect(r.pending).toEqual(["s1", "s2"]);
    applier.release(await applier.started.next());
    applier.release(await applier.started.next());
    expect(await r.applied.next()).toBe(ok.deploymentObject!.id);
    await r.reports.find((x) => x === `FAILURE:${bad.deploymentObject!.id}`);
    expect(r.applied.all).toEqual([ok.deploymentObject!.id]);
    await r.reconciler.stop();
  });

  it("says nothing of an object superseded while it was being applied, only of the newer one", async () => {
    const older = deploy("s1");
    const newer = deploy("s1");
    const applier = new GatedApplier();
    const r = reconcilerWith(applier);
    r.reconciler.handle(older);
    expect(await applier.started.next()).toBe(older.deploymentObject!.id);
    r.reconciler.handle(newer);
    applier.release(older.deploymentObject!.id);
    expect(await applier.started.next()).toBe(newer.deploymentObject!.id);
    applier.release(newer.deploymentObject!.id);
    expect(await r.applied.next()).toBe(newer.deploymentObject!.id);
    expect(r.applied.all).toEqual([newer.deploymentObject!.id]);
    await r.reconciler.stop();
  });
});
