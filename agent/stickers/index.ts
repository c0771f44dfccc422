import type { Logger } from "pino";
import type { BrokerHttp } from "../broker/http.ts";
import type { DeploymentEvent } from "../broker/types.ts";
import type { DriftPolicy } from "../generated/operations.ts";
import type { KubeApplier } from "../kube/applier.ts";
import type { AgentObjectApi } from "../kube/client.ts";
import { type Manifest, orderForApply, parseManifests } from "../kube/manifest.ts";
import { type LiveObject, stampOwnership } from "../kube/ownership.ts";
import { DEFAULT_RETRY, isNotFound, withTransientRetry } from "../kube/retry.ts";
import { StickerBroker, isNotYet } from "./broker.ts";
import { type DriftItem, resourceDrift, stickerDrift } from "./drift.ts";
import { type ReleaseContext, type StickerConfigMap, contentHash, stickerConfigMap, stickerContent } from "./sticker.ts";

/** Items per report: the broker's list cap (MAX_LIST_ARGUMENT). */
const MAX_ITEMS = 50;
/** An unchanged drift state is confirmed to the broker every this many checks. */
const CONFIRM_EVERY = 10;

export interface StickerKeeperDeps {
  objects: AgentObjectApi;
  applier: KubeApplier;
  http: BrokerHttp;
  agentId: string;
  logger: Logger;
  driftCheckIntervalMs: number;
}

/** A stack whose object a release job delivered, as this process last applied it. */
interface Tracked {
  stackId: string;
  object: { id: string; yamlContent: string; yamlChecksum: string };
  context: ReleaseContext;
  policy: DriftPolicy;
  sticker: StickerConfigMap;
  written?: Date;
  reported: boolean;
  lastState?: string;
  checksSinceReport: number;
}

/**
 * Version stickers and drift (docs/release-orchestration.md step 7). After each successful apply
 * of an object with a releaseContext it writes the sticker ConfigMap and reports it; every drift
 * interval it reads the sticker and each resource the object holds (no listing) and reports drift
 * when its state changes (and every CONFIRM_EVERY checks); under HEAL it re-applies first. Work
 * on one stack runs one at a time (a per-stack chain), and a stack the reconciler has new work for
 * is not checked until that work succeeds (onPending, onApplied). A check already past that point
 * may still re-apply the old object once; the newer object's retry or next check puts it right.
 */
export class StickerKeeper {
  private readonly stacks = new Map<string, Tracked>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly namespaces = new Set<string>();
  private readonly broker: StickerBroker;
  private timer?: NodeJS.Timeout;
  private checking?: Promise<void>;

  constructor(private readonly deps: StickerKeeperDeps) {
    this.broker = new StickerBroker(deps.http);
  }

  /** The reconciler's hook after each successful reconcile of a stack. */
  readonly onApplied = (event: DeploymentEvent): void => {
    const obj = event.deploymentObject;
    const context = obj?.releaseContext;
    if (event.type !== "DEPLOY" || !obj || obj.isDeletionMarker || !context) {
      this.stacks.delete(event.stackId);
      return;
    }
    const sticker = stickerConfigMap(context, stickerContent(context, obj.yamlChecksum));
    const tracked: Tracked = {
      stackId: event.stackId,
      object: obj,
      context,
      policy: context.driftPolicy,
      sticker,
      reported: false,
      checksSinceReport: 0,
    };
    this.stacks.set(event.stackId, tracked);
    void this.chain(event.stackId, () => this.establish(tracked));
  };

  /**
   * The reconciler's hook when it takes on new work for a stack: until that succeeds, what is live
   * is the reconciler's business, not drift (and healing back to the old object would fight it).
   */
  readonly onPending = (stackId: string): void => {
    this.stacks.delete(stackId);
  };

  start(): void {
    this.timer = setInterval(() => void this.checkAll(), this.deps.driftCheckIntervalMs);
  }

  /** One drift check of every sticker-bearing stack (also what the interval runs). */
  checkAll(): Promise<void> {
    this.checking ??= Promise.all([...this.stacks.keys()].map((id) => this.chain(id, () => this.check(id)))).then(
      () => void (this.checking = undefined),
    );
    return this.checking;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stacks.clear();
    await Promise.all(this.chains.values());
  }

  private chain(stackId: string, fn: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(stackId) ?? Promise.resolve()).then(fn).catch((err: unknown) => {
      this.deps.logger.warn({ err, stackId }, "version sticker work failed; retried on the next drift check");
    });
    this.chains.set(stackId, next);
    void next.then(() => this.chains.get(stackId) === next && this.chains.delete(stackId));
    return next;
  }

  private current(t: Tracked): boolean {
    return this.stacks.get(t.stackId) === t;
  }

  /** Writes the sticker (once) and reports it (until the broker takes it). */
  private async establish(t: Tracked): Promise<void> {
    if (!this.current(t)) return;
    if (!t.written) await this.writeSticker(t);
    if (t.reported) return;
    const content = stickerContent(t.context, t.object.yamlChecksum);
    try {
      t.policy = await this.broker.reportSticker(t.context.taskId, content, contentHash(content), t.written ?? new Date());
      t.reported = true;
      this.deps.logger.info({ stackId: t.stackId, taskId: t.context.taskId }, "version sticker reported");
    } catch (err) {
      if (!isNotYet(err)) throw err;
      this.deps.logger.debug({ taskId: t.context.taskId }, "task not succeeded yet; the sticker is reported on a later check");
    }
  }

  private async writeSticker(t: Tracked): Promise<void> {
    const namespace = t.context.stickerNamespace;
    if (!this.namespaces.has(namespace)) {
      const ns = { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } };
      if (!(await this.read(ns))) await this.deps.applier.applyManifests([ns]);
      this.namespaces.add(namespace);
    }
    await this.deps.applier.applyManifests([structuredClone(t.sticker)]);
    t.written = new Date();
  }

  private async check(stackId: string): Promise<void> {
    const t = this.stacks.get(stackId);
    if (!t) return;
    await this.establish(t);
    if (!t.reported || !this.current(t)) return;
    let items = await this.collect(t);
    let healed = false;
    // A field another manager shares at the applied value stays shared after any apply: nothing to heal.
    if (!this.current(t)) return;
    if (t.policy === "HEAL" && items.some((i) => i.reason !== "FOREIGN_MANAGER")) {
      await this.deps.applier.reapply({ ...t.object, stackId });
      await this.deps.applier.applyManifests([structuredClone(t.sticker)]);
      const left = await this.collect(t);
      healed = left.length === 0;
      if (!healed) items = left;
      this.deps.logger.info({ stackId, drifted: items.length, healed }, "re-applied a drifted release object");
    }
    await this.report(t, items, healed);
  }

  /** Reports a change of drift state, a heal, or every CONFIRM_EVERY checks the same state again. */
  private async report(t: Tracked, items: DriftItem[], healed: boolean): Promise<void> {
    const state = JSON.stringify({ items, healed });
    t.checksSinceReport++;
    if (!healed && state === t.lastState && t.checksSinceReport < CONFIRM_EVERY) return;
    t.policy = await this.broker.reportDrift(t.context.taskId, items.slice(0, MAX_ITEMS), healed);
    t.lastState = state;
    t.checksSinceReport = 0;
  }

  /** The sticker's drift, then each applied resource's: one GET each, nothing listed. */
  private async collect(t: Tracked): Promise<DriftItem[]> {
    const items = stickerDrift(t.sticker, await this.read(t.sticker));
    for (const applied of await this.appliedManifests(t)) items.push(...resourceDrift(applied, await this.read(applied)));
    return items;
  }

  /** The object's manifests as the applier sent them (namespace defaulted, ownership stamped). */
  private async appliedManifests(t: Tracked): Promise<Manifest[]> {
    const owner = {
      stackId: t.stackId,
      deploymentObjectId: t.object.id,
      checksum: t.object.yamlChecksum,
      agentId: this.deps.agentId,
      appliedAt: new Date(0),
    };
    const out: Manifest[] = [];
    for (const m of orderForApply(parseManifests(t.object.yamlContent)))
      out.push(stampOwnership(await this.deps.applier.resolve(m), owner));
    return out;
  }

  private async read(m: {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string };
  }): Promise<LiveObject | undefined> {
    const header = {
      apiVersion: m.apiVersion,
      kind: m.kind,
      metadata: { name: m.metadata.name, namespace: m.metadata.namespace },
    };
    try {
      // The live object as the API server sent it; only the fields LiveObject names are read.
      return (await withTransientRetry(() => this.deps.objects.read(header), DEFAULT_RETRY)) as LiveObject;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}
