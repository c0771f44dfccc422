import { Registry } from "prom-client";
import { describe, expect, it, vi } from "vitest";
import { Scheduler } from "./scheduler.js";

function counterValue(registry: Registry, task: string, outcome: string): Promise<number | undefined> {
  return registry
    .getSingleMetric("brokkr_background_task_runs_total")
    ?.get()
    .then((m) => m.values.find((v) => v.labels.task === task && v.labels.outcome === outcome)?.value) as Promise<
    number | undefined
  >;
}

describe("Scheduler", () => {
  it("runs a registered task on its interval and counts each run", async () => {
    const registry = new Registry();
    const scheduler = new Scheduler(registry);
    const run = vi.fn(async () => 2);
    scheduler.register({ name: "tick", intervalMs: 5, run });
    scheduler.start();
    await vi.waitFor(() => expect(run.mock.calls.length).toBeGreaterThanOrEqual(2));
    await scheduler.stop();
    expect(await counterValue(registry, "tick", "ok")).toBeGreaterThanOrEqual(2);
  });

  it("reads an interval given as a function before each wait, so a reload can change it", async () => {
    const scheduler = new Scheduler(new Registry());
    let runs = 0;
    const interval = vi.fn(() => (runs < 2 ? 5 : 1));
    scheduler.register({ name: "live", intervalMs: interval, run: async () => ++runs });
    scheduler.start();
    await vi.waitFor(() => expect(runs).toBeGreaterThanOrEqual(3));
    await scheduler.stop();
    // Once at registration, then before every wait: after each of the runs.
    expect(interval.mock.calls.length).toBeGreaterThanOrEqual(runs);
  });

  it("runs again after a run in progress instead of overlapping it or reusing its result", async () => {
    const scheduler = new Scheduler(new Registry());
    const releases: (() => void)[] = [];
    let concurrent = 0;
    let maxConcurrent = 0;
    let runs = 0;
    scheduler.register({
      name: "slow",
      intervalMs: 60_000,
      run: async () => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        const run = ++runs;
        await new Promise<void>((r) => releases.push(r));
        concurrent--;
        return run;
      },
    });
    const first = scheduler.runNow("slow");
    await vi.waitFor(() => expect(releases).toHaveLength(1));
    const second = scheduler.runNow("slow");
    releases[0]?.();
    expect(await first).toEqual({ task: "slow", outcome: "ok", handled: 1 });
    await vi.waitFor(() => expect(releases).toHaveLength(2));
    releases[1]?.();
    // The second call got a run of its own, begun after the first had finished.
    expect(await second).toEqual({ task: "slow", outcome: "ok", handled: 2 });
    expect(maxConcurrent).toBe(1);
  });

  it("reports a failing run to the fault recorder, counts it, and keeps scheduling", async () => {
    const registry = new Registry();
    const faults: unknown[] = [];
    const scheduler = new Scheduler(registry, (err) => faults.push(err));
    let calls = 0;
    scheduler.register({
      name: "flaky",
      intervalMs: 5,
      run: async () => {
        calls++;
        if (calls === 1) throw new Error("database went away");
        return 0;
      },
    });
    scheduler.start();
    await vi.waitFor(() => expect(calls).toBeGreaterThanOrEqual(2));
    await scheduler.stop();
    expect(faults).toHaveLength(1);
    expect(await counterValue(registry, "flaky", "error")).toBe(1);
  });

  it("stops cleanly: aborts the signal and waits for the run in progress", async () => {
    const scheduler = new Scheduler(new Registry());
    let sawAbort = false;
    let started: () => void = () => {};
    const running = new Promise<void>((r) => (started = r));
    scheduler.register({
      name: "long",
      intervalMs: 1,
      run: (signal) =>
        new Promise((resolve) => {
          started();
          signal.addEventListener("abort", () => {
            sawAbort = true;
            resolve(0);
          });
        }),
    });
    scheduler.start();
    await running;
    await scheduler.stop();
    expect(sawAbort).toBe(true);
  });

  it("refuses a task registered twice, a bad interval, and an unknown name", async () => {
    const scheduler = new Scheduler(new Registry());
    scheduler.register({ name: "once", intervalMs: 10, run: async () => 0 });
    expect(() => scheduler.register({ name: "once", intervalMs: 10, run: async () => 0 })).toThrow(/twice/);
    expect(() => scheduler.register({ name: "zero", intervalMs: 0, run: async () => 0 })).toThrow(/positive/);
    await expect(scheduler.runNow("nope")).rejects.toThrow(/no background task/);
  });
});
