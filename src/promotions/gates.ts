import { activeFreezeWindow } from "../environments/freeze-windows.js";
import type { EnvironmentFacts, PreviousDeployment, ReleaseFacts } from "./gate-store.js";

export type GateName = "RELEASE_READY" | "PREVIOUS_ENVIRONMENT_HEALTHY" | "NO_ACTIVE_FREEZE" | "APPROVALS_COMPLETE";

/** One gate's verdict as recorded in promotions.decision_record. */
export interface GateVerdict {
  name: GateName;
  passed: boolean;
  detail: string;
  inputs: Record<string, unknown>;
  evaluatedAt: string;
}

export interface GateFacts {
  release: ReleaseFacts;
  environment: EnvironmentFacts;
  previous: { environment: EnvironmentFacts; deployment: PreviousDeployment } | null;
  now: Date;
}

const verdict = (name: GateName, passed: boolean, detail: string, inputs: Record<string, unknown>, now: Date): GateVerdict => ({
  name,
  passed,
  detail,
  inputs,
  evaluatedAt: now.toISOString(),
});

export function releaseReady({ release, now }: GateFacts): GateVerdict {
  const passed = release.status === "READY" || release.status === "DEPLOYED";
  const detail = passed
    ? `release ${release.name} is ${release.status}`
    : `release ${release.name} is ${release.status}, not READY`;
  return verdict("RELEASE_READY", passed, detail, { releaseId: release.id, status: release.status }, now);
}

export function previousEnvironmentHealthy({ release, previous, now }: GateFacts): GateVerdict {
  const name = "PREVIOUS_ENVIRONMENT_HEALTHY";
  if (!previous) return verdict(name, true, "first environment", { previousEnvironmentId: null }, now);
  const { environment: env, deployment } = previous;
  const { job, tasks, unhealthy } = deployment;
  const inputs = {
    previousEnvironmentId: env.id,
    previousEnvironment: env.name,
    latestJob: job,
    tasks: tasks.length,
    succeededTasks: tasks.filter((t) => t.status === "SUCCEEDED").length,
    unhealthy,
  };
  const fail = (detail: string) => verdict(name, false, `${env.name}: ${detail}`, inputs, now);
  if (!job) return fail(`release ${release.name} was never deployed there`);
  if (job.releaseId !== release.id) return fail(`its latest job is of another release, not ${release.name}`);
  if (job.status !== "SUCCEEDED") return fail(`the latest job of ${release.name} is ${job.status}`);
  const unfinished = tasks.filter((t) => t.status !== "SUCCEEDED");
  if (unfinished.length > 0) return fail(`${unfinished.length} of ${tasks.length} agent(s) did not succeed`);
  if (unhealthy.length > 0) return fail(`${unhealthy.length} agent(s) report failing or degraded health`);
  return verdict(name, true, `${release.name} deployed and healthy on ${tasks.length} agent(s) of ${env.name}`, inputs, now);
}

export function noActiveFreeze({ environment: env, now }: GateFacts): GateVerdict {
  const inputs = { timeZone: env.timeZone, windows: env.freezeWindows.length, now: now.toISOString() };
  try {
    const window = activeFreezeWindow(env.freezeWindows, env.timeZone, now);
    if (!window) return verdict("NO_ACTIVE_FREEZE", true, "no freeze window is active", inputs, now);
    const why = window.reason ? `: ${window.reason}` : "";
    return verdict("NO_ACTIVE_FREEZE", false, `a freeze window is active in ${env.name}${why}`, { ...inputs, window }, now);
  } catch (err) {
    // Fails closed: a window that cannot be read might be a freeze.
    return verdict("NO_ACTIVE_FREEZE", false, `freeze windows cannot be read: ${(err as Error).message}`, inputs, now);
  }
}

export function approvalsComplete(approved: number, required: number, now: Date): GateVerdict {
  const passed = approved >= required;
  const detail = required === 0 ? "no approvals required" : `${approved} of ${required} approval(s)`;
  return verdict("APPROVALS_COMPLETE", passed, detail, { approved, required }, now);
}

/** The refusing gates, in the order they are evaluated. */
export const REFUSING_GATES = [releaseReady, previousEnvironmentHealthy, noActiveFreeze] as const;

/** The latest verdict of each gate, in gate order. */
export function latestVerdicts(record: readonly GateVerdict[]): GateVerdict[] {
  const order: GateName[] = ["RELEASE_READY", "PREVIOUS_ENVIRONMENT_HEALTHY", "NO_ACTIVE_FREEZE", "APPROVALS_COMPLETE"];
  const latest = new Map<string, GateVerdict>();
  for (const v of record) latest.set(v.name, v);
  return [...latest.values()].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}
