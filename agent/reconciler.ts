import type { Logger } from "pino";
import type { AgentEventReport, DeploymentEvent, EventReporter } from "./broker/types.ts";
import type { ApplyOutcome, DeploymentObjectInput } from "./kube/applier.ts";
import { describeKubeError } from "./kube/retry.ts";
import type { AgentMetrics } from "./metrics.ts";
import { type Sleep, abortableSleep } from "./sleep.ts";

export type { Sleep } from "./sleep.ts";

/** Carries out the reconciler's decisions in the cluster; decides nothing itself. */
export interface Applier {
  apply(obj: DeploymentObjectInput): Promise<ApplyOutcome>;
  deleteStack(stackId: string): Promise<ApplyOutcome>;
  /** Stacks with resources in the cluster that this agent owns. */
  ownedStackIds(): Promise<string[]>;
  /** Makes the resources Brokkr's agent applied for this agent id this agent's own; returns how many. */
  adoptBrokkrResources(yamlContents: string[]): Promise<number>;
}

export interface ReconcilerDeps {
  applier: Applier;
  reporter: EventReporter;
  logger: Logger;
  metrics?: AgentMetrics;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Must resolve early when `signal` aborts (a newer object or stop). */
  sleep?: Sleep;
  /** After each successful reconcile of a stack (agent/stickers writes version stickers). */
  onApplied?: (event: DeploymentEvent) => void;
  /** When new work for a stack is taken on, before it is carried out (agent/stickers stops checking it). */
  onPending?: (stackId: string) => void;
}

export interface ReconcilerStatus {
  cursor: string;
  lastApplyAt: string | null;
  lastError: string | null;
  failingStacks: string[];
}

interface StackState {
  pending?: DeploymentEvent;
  lastSequence: bigint;
  /** The last event handed over deploys the stack (it may still be pending or failing). */
  targeted: boolean;
  /**
   * What is applied now: its id for health reports, its checksum to skip an unchanged object;
   * null after a failed attempt, which may have left part of another object in the cluster.
   */
  applied?: { objectId: string; checksum: string | null };
  worker?: Promise<void>;
  wait?: AbortController;
  failures: number;
  failing: boolean;
  lastFailureReport?: string;
}

/**
 * Every reconcile decision of the agent: what each stack should hold (deploy, delete on a deletion
 * marker or untarget, skip an unchanged checksum), which stacks vanished from a target state, and
 * what is applied per stack. Works per stack, in order, one at a time. A failed object is retried
 * with backoff until a newer object of its stack supersedes it. The cursor is the highest
 * sequence id handed to it: anything at or below it is either done or still held here and retried.
 */
export class Reconciler {
  private readonly stacks = new Map<string, StackState>();
  private readonly stopping = new AbortController();
  private highest = 0n;
  private lastApplyAt: Date | null = null;
  private lastError: string | null = null;
  private tookOver = false;

  constructor(private readonly deps: ReconcilerDeps) {}

  handle(event: DeploymentEvent): void {
    if (this.stopping.signal.aborted) return;
    this.deps.metrics?.deliveries.inc();
    const sequence = BigInt(event.deploymentObject?.sequenceId ?? 0);
    if (sequence > this.highest) this.highest = sequence;
    this.enqueue(event);
  }

  /**
   * The reconnect reconcile, before any new event on every (re)connect: adopts what Brokkr's agent
   * left (once per process, until that succeeds), then reconciles against the target state and the
   * stacks this agent owns resources of in the cluster, which covers stacks untargeted while it was
   * stopped. Returns the stacks untargeted.
   */
  async reconcileOnReconnect(targetState: DeploymentEvent[]): Promise<string[]> {
    const adopted = this.tookOver ? 0 : await this.takeOverFromBrokkr(targetState);
    // Adopted on a retry, they may belong to stacks already handled (a deletion marker): handle them again.
    if (adopted > 0) for (const state of this.stacks.values()) state.lastSequence = 0n;
    let owned: string[] = [];
    try {
      owned = await this.deps.applier.ownedStackIds();
    } catch (err) {
      this.deps.logger.warn({ err }, "listing owned resources failed; reconciling against what this process applied");
    }
    const untargeted = this.reconcileTargetState(targetState, owned);
    this.deps.logger.info({ targeted: targetState.length, untargeted }, "reconciled the target state");
    return untargeted;
  }

  private async takeOverFromBrokkr(targetState: DeploymentEvent[]): Promise<number> {
    const contents = targetState.flatMap((e) => (e.deploymentObject ? [e.deploymentObject.yamlContent] : []));
    try {
      const adopted = await this.deps.applier.adoptBrokkrResources(contents);
      this.tookOver = true;
      return adopted;
    } catch (err) {
      this.deps.logger.warn({ err }, "taking over resources of Brokkr's agent failed; retried on the next reconnect");
      return 0;
    }
  }

  /**
   * Reconciles against a whole target state: its stacks are deployed (an object already handed
   * over is not new work), and every other stack this agent deployed, or names in
   * `ownedStackIds`, is untargeted. Returns the stacks untargeted. The cursor does not move: an
   * object below a target-state id may not have committed yet.
   */
  reconcileTargetState(targetState: DeploymentEvent[], ownedStackIds: Iterable<string> = []): string[] {
    if (this.stopping.signal.aborted) return [];
    const wanted = new Set(targetState.map((e) => e.stackId));
    for (const event of targetState) this.enqueue(event);
    const deployed = [...this.stacks].filter(([, s]) => s.targeted).map(([id]) => id);
    const stale = [...new Set([...ownedStackIds, ...deployed])].filter((id) => !wanted.has(id)).sort();
    for (const stackId of stale) this.enqueue({ type: "UNTARGETED", stackId, deploymentObject: null });
    if (stale.length > 0) this.deps.logger.info({ untargeted: stale }, "stacks left the target state");
    return stale;
  }

  /** Stack id → id of the deployment object applied for it. */
  appliedObjects(): Map<string, string> {
    const applied = new Map<string, string>();
    for (const [stackId, state] of this.stacks) if (state.applied) applied.set(stackId, state.applied.objectId);
    return applied;
  }

  cursor(): string {
    return this.highest.toString();
  }

  status(): ReconcilerStatus {
    return {
      cursor: this.cursor(),
      lastApplyAt: this.lastApplyAt?.toISOString() ?? null,
      lastError: this.lastError,
      failingStacks: [...this.stacks].filter(([, s]) => s.failing).map(([id]) => id),
    };
  }

  /** Stops taking events, cuts retry waits short, and waits for the objects in hand. */
  async stop(): Promise<void> {
    this.stopping.abort();
    for (const state of this.stacks.values()) state.wait?.abort();
    await Promise.all([...this.stacks.values()].map((s) => s.worker));
  }

  private enqueue(event: DeploymentEvent): void {
    const state = this.stateOf(event.stackId);
    if (event.type === "DEPLOY") {
      if (!event.deploymentObject) return;
      const sequence = BigInt(event.deploymentObject.sequenceId);
      // A replay or repeated poll of what this stack already has is not new work.
      if (sequence <= state.lastSequence) return;
      state.lastSequence = sequence;
    } else {
      // Re-targeting sends the stack's latest object again, however old.
      state.lastSequence = 0n;
    }
    state.targeted = event.type === "DEPLOY" && !event.deploymentObject?.isDeletionMarker;
    state.pending = event;
    this.deps.onPending?.(event.stackId);
    state.wait?.abort();
    state.worker ??= this.work(event.stackId, state);
  }

  private stateOf(stackId: string): StackState {
    let state = this.stacks.get(stackId);
    if (!state) {
      state = { lastSequence: 0n, targeted: false, failures: 0, failing: false };
      this.stacks.set(stackId, state);
    }
    return state;
  }

  private async work(stackId: string, state: StackState): Promise<void> {
    try {
      while (state.pending && !this.stopping.signal.aborted) {
        const event = state.pending;
        state.pending = undefined;
        if (await this.process(event, state)) continue;
        await this.backoff(state);
        if (!state.pending && !this.stopping.signal.aborted) state.pending = event;
      }
    } finally {
      state.worker = undefined;
      if (state.pending && !this.stopping.signal.aborted) state.worker = this.work(stackId, state);
    }
  }

  private async backoff(state: StackState): Promise<void> {
    const base = this.deps.retryBaseMs ?? 1_000;
    const max = this.deps.retryMaxMs ?? 60_000;
    const ms = Math.min(max, base * 2 ** Math.min(state.failures - 1, 20));
    state.wait = new AbortController();
    try {
      await (this.deps.sleep ?? abortableSleep)(ms, state.wait.signal);
    } finally {
      state.wait = undefined;
    }
  }

  private async process(event: DeploymentEvent, state: StackState): Promise<boolean> {
    const obj = event.deploymentObject;
    const log = this.deps.logger.child({ stackId: event.stackId, deploymentObjectId: obj?.id });
    const started = performance.now();
    try {
      const outcome = await this.carryOut(event, state);
      this.deps.metrics?.applyDuration.observe((performance.now() - started) / 1000);
      this.deps.metrics?.applies.inc();
      this.lastApplyAt = new Date();
      Object.assign(state, { failures: 0, failing: false, lastFailureReport: undefined });
      state.applied = obj && !obj.isDeletionMarker ? { objectId: obj.id, checksum: obj.yamlChecksum } : undefined;
      log.info({ outcome, type: event.type }, "reconciled stack");
      if (obj) await this.report({ deploymentObjectId: obj.id, status: "SUCCESS", message: null, eventType: eventTypeOf(obj) });
      // A newer object already waiting supersedes this one: it reports when it has succeeded.
      if (!state.pending) this.deps.onApplied?.(event);
      return true;
    } catch (err) {
      const message = describeKubeError(err);
      this.deps.metrics?.applyFailures.inc();
      this.lastError = message;
      state.failures++;
      state.failing = true;
      if (state.applied) state.applied.checksum = null;
      log.warn({ err, attempt: state.failures }, "reconciling stack failed");
      const key = `${obj?.id}|${message}`;
      if (obj && state.lastFailureReport !== key) {
        state.lastFailureReport = key;
        await this.report({ deploymentObjectId: obj.id, status: "FAILURE", message, eventType: eventTypeOf(obj) });
      }
      return false;
    }
  }

  /** The one place that decides between deleting, skipping and applying a stack's object. */
  private carryOut(event: DeploymentEvent, state: StackState): Promise<ApplyOutcome> {
    const obj = event.deploymentObject;
    if (!obj || obj.isDeletionMarker) return this.deps.applier.deleteStack(event.stackId);
    // What this process applied is still in place (nothing is pruned on a later tick).
    if (state.applied?.checksum === obj.yamlChecksum) return Promise.resolve({ status: "unchanged", applied: 0, pruned: 0 });
    return this.deps.applier.apply({
      id: obj.id,
      stackId: event.stackId,
      yamlContent: obj.yamlContent,
      yamlChecksum: obj.yamlChecksum,
    });
  }

  private async report(report: AgentEventReport): Promise<void> {
    try {
      await this.deps.reporter.reportEvent(report);
    } catch (err) {
      this.deps.logger.warn({ err, deploymentObjectId: report.deploymentObjectId }, "reporting an event to the broker failed");
    }
  }
}

function eventTypeOf(obj: { isDeletionMarker: boolean }): string {
  return obj.isDeletionMarker ? "DELETE" : "APPLY";
}
