import type { Logger } from "pino";
import type { AgentEventReport, DeploymentEvent, EventReporter } from "./broker/types.ts";
import type { ApplyOutcome, DeploymentObjectInput } from "./kube/applier.ts";
import { describeKubeError } from "./kube/retry.ts";
import type { AgentMetrics } from "./metrics.ts";

export interface Applier {
  apply(obj: DeploymentObjectInput): Promise<ApplyOutcome>;
  deleteStack(stackId: string): Promise<ApplyOutcome>;
}

export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export interface ReconcilerDeps {
  applier: Applier;
  reporter: EventReporter;
  logger: Logger;
  metrics?: AgentMetrics;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Must resolve early when `signal` aborts (a newer object or stop). */
  sleep?: Sleep;
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
  /** The object now applied, for health reports. */
  appliedObjectId?: string;
  worker?: Promise<void>;
  wait?: AbortController;
  failures: number;
  failing: boolean;
  lastFailureReport?: string;
}

const abortableSleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

/**
 * Applies deliveries per stack, in order, one at a time. A failed object is retried with backoff
 * until a newer object of its stack supersedes it. The cursor is the highest sequence id handed
 * to it: anything at or below it is either done or still held here and retried in memory.
 */
export class Reconciler {
  private readonly stacks = new Map<string, StackState>();
  private readonly stopping = new AbortController();
  private highest = 0n;
  private lastApplyAt: Date | null = null;
  private lastError: string | null = null;

  constructor(private readonly deps: ReconcilerDeps) {}

  handle(event: DeploymentEvent): void {
    if (this.stopping.signal.aborted) return;
    this.deps.metrics?.deliveries.inc();
    const sequence = BigInt(event.deploymentObject?.sequenceId ?? 0);
    if (sequence > this.highest) this.highest = sequence;
    this.enqueue(event);
  }

  /**
   * Reconciles against the whole target state: its stacks are deployed (an object already handed
   * over is not new work), and every other stack this agent deployed or owns resources of
   * (`ownedStackIds`, found in the cluster) is untargeted. Returns the stacks untargeted.
   * The cursor does not move: an object below a target-state id may not have committed yet.
   */
  resync(targetState: DeploymentEvent[], ownedStackIds: Iterable<string>): string[] {
    if (this.stopping.signal.aborted) return [];
    const wanted = new Set(targetState.map((e) => e.stackId));
    for (const event of targetState) this.enqueue(event);
    const deployed = [...this.stacks].filter(([, s]) => s.targeted).map(([id]) => id);
    const stale = [...new Set([...ownedStackIds, ...deployed])].filter((id) => !wanted.has(id)).sort();
    for (const stackId of stale) this.enqueue({ type: "UNTARGETED", stackId, deploymentObject: null });
    return stale;
  }

  /** Stack id → id of the deployment object applied for it. */
  appliedObjects(): Map<string, string> {
    const applied = new Map<string, string>();
    for (const [stackId, state] of this.stacks) if (state.appliedObjectId) applied.set(stackId, state.appliedObjectId);
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
      const outcome = obj ? await this.deps.applier.apply({ ...obj, stackId: event.stackId }) : await this.deps.applier.deleteStack(event.stackId);
      this.deps.metrics?.applyDuration.observe((performance.now() - started) / 1000);
      this.deps.metrics?.applies.inc();
      this.lastApplyAt = new Date();
      Object.assign(state, { failures: 0, failing: false, lastFailureReport: undefined });
      state.appliedObjectId = obj && !obj.isDeletionMarker ? obj.id : undefined;
      log.info({ outcome, type: event.type }, "reconciled stack");
      if (obj) await this.report({ deploymentObjectId: obj.id, status: "SUCCESS", message: null, eventType: eventTypeOf(obj) });
      return true;
    } catch (err) {
      const message = describeKubeError(err);
      this.deps.metrics?.applyFailures.inc();
      this.lastError = message;
      state.failures++;
      state.failing = true;
      log.warn({ err, attempt: state.failures }, "reconciling stack failed");
      const key = `${obj?.id}|${message}`;
      if (obj && state.lastFailureReport !== key) {
        state.lastFailureReport = key;
        await this.report({ deploymentObjectId: obj.id, status: "FAILURE", message, eventType: eventTypeOf(obj) });
      }
      return false;
    }
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
