import { Counter, Histogram, type Registry } from "prom-client";
import { moduleLogger } from "../logger.js";

const log = moduleLogger("scheduler");

/**
 * One periodic job of the broker (work-order maintenance, clean-ups, webhook delivery …).
 * Several brokers run the same tasks against one database, so `run` must be safe to run
 * concurrently with itself on another broker: claim rows with `FOR UPDATE SKIP LOCKED` (or an
 * advisory lock), never with an in-memory flag. It returns how many items it handled (for logs).
 */
export interface BackgroundTask {
  name: string;
  /** A function when the interval is a hot-reloadable setting: read again before each wait. */
  intervalMs: number | (() => number);
  run(signal: AbortSignal): Promise<number>;
}

export interface TaskRunOutcome {
  task: string;
  outcome: "ok" | "error";
  handled: number;
}

/**
 * Runs each registered task every `intervalMs` (measured from the end of the previous run, so a
 * slow run never overlaps itself on one broker). `stop()` aborts the signal and waits for runs in
 * progress. Each run is counted in brokkr_background_task_runs_total{task,outcome}.
 */
export class Scheduler {
  private readonly tasks = new Map<string, BackgroundTask>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<TaskRunOutcome>>();
  private readonly abort = new AbortController();
  private started = false;
  private readonly runs: Counter<"task" | "outcome">;
  private readonly duration: Histogram<"task">;

  constructor(
    registry: Registry,
    private readonly onFault: (err: unknown) => void = () => {},
  ) {
    this.runs = new Counter({
      name: "brokkr_background_task_runs_total",
      help: "Runs of the broker's background tasks, by task and outcome",
      labelNames: ["task", "outcome"] as const,
      registers: [registry],
    });
    this.duration = new Histogram({
      name: "brokkr_background_task_duration_seconds",
      help: "Duration of the broker's background task runs",
      labelNames: ["task"] as const,
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    });
  }

  register(task: BackgroundTask): void {
    if (this.tasks.has(task.name)) throw new Error(`background task ${task.name} registered twice`);
    if (!(intervalOf(task) > 0)) throw new Error(`background task ${task.name} needs a positive interval`);
    this.tasks.set(task.name, task);
    if (this.started) this.schedule(task);
  }

  get taskNames(): string[] {
    return [...this.tasks.keys()];
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const task of this.tasks.values()) this.schedule(task);
  }

  /**
   * Runs a task now and resolves with its outcome; tests and admin endpoints use it instead of
   * waiting for the interval. The run starts after this call, so it sees every write committed
   * before it: a run already in progress (which may have read too early) is waited for first.
   */
  async runNow(name: string): Promise<TaskRunOutcome> {
    const task = this.tasks.get(name);
    if (!task) throw new Error(`no background task named ${name}`);
    await this.running.get(task.name)?.catch(() => undefined);
    return this.runOnce(task);
  }

  async stop(): Promise<void> {
    this.started = false;
    this.abort.abort();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled(this.running.values());
  }

  private schedule(task: BackgroundTask): void {
    if (!this.started) return;
    const timer = setTimeout(async () => {
      await this.runOnce(task);
      this.schedule(task);
    }, intervalOf(task));
    timer.unref();
    this.timers.set(task.name, timer);
  }

  private runOnce(task: BackgroundTask): Promise<TaskRunOutcome> {
    const inProgress = this.running.get(task.name);
    if (inProgress) return inProgress;
    const run = this.execute(task).finally(() => this.running.delete(task.name));
    this.running.set(task.name, run);
    return run;
  }

  private async execute(task: BackgroundTask): Promise<TaskRunOutcome> {
    const end = this.duration.startTimer({ task: task.name });
    try {
      const handled = await task.run(this.abort.signal);
      this.runs.inc({ task: task.name, outcome: "ok" });
      if (handled > 0) log.debug({ task: task.name, handled }, "background task run");
      return { task: task.name, outcome: "ok", handled };
    } catch (err) {
      this.runs.inc({ task: task.name, outcome: "error" });
      if (!this.abort.signal.aborted) this.onFault(err);
      return { task: task.name, outcome: "error", handled: 0 };
    } finally {
      end();
    }
  }
}

function intervalOf(task: BackgroundTask): number {
  return typeof task.intervalMs === "function" ? task.intervalMs() : task.intervalMs;
}
