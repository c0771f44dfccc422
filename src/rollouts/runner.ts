import { randomUUID } from "node:crypto";
import type { Database } from "../db/client.js";
import type { EvidenceSigner } from "../evidence/keys.js";
import type { CommitHook } from "../delivery/commit-feed.js";
import type { Scheduler } from "../scheduler/scheduler.js";
import type { InputLimits } from "../validation.js";
import { orchestratorGenerator, type DeliveryDeps } from "./deliver.js";
import type { ActiveFreezeWindow } from "./freeze.js";
import { claimJobs, releaseLeases } from "./job-store.js";
import { startApproved } from "./start.js";
import { stepJob } from "./step.js";

/** The scheduler's name for the runner (tests: `app.scheduler.runNow(ROLLOUTS_TASK)`). */
export const ROLLOUTS_TASK = "rollouts";
/** Active jobs one broker steps per run. */
const JOBS_PER_RUN = 50;

export interface RolloutSettings {
  intervalMs: number;
  leaseTtlMs: number;
  taskTimeoutSeconds: number;
}

export interface Rollouts {
  /** This broker's name in deployment_jobs.lease_owner. */
  readonly owner: string;
  /** Gives up this broker's leases (after the scheduler stopped), so another broker resumes at once. */
  stop(): Promise<void>;
}

/**
 * The rollout runner (docs/release-orchestration.md step 4), one scheduler task: start jobs for
 * approved promotions, then step each active job whose lease this broker holds or takes. All
 * state is in the database, so any broker resumes any job; one job failing does not stop the
 * others, and the first error is reported to the scheduler after the rest ran.
 */
export function registerRollouts(deps: {
  scheduler: Scheduler;
  db: Database;
  committed: CommitHook;
  limits: InputLimits;
  /** The evidence signing key (src/evidence createEvidenceKeys). */
  signer: () => Promise<EvidenceSigner>;
  settings: () => RolloutSettings;
  /** src/environments/freeze-windows.ts activeFreezeWindow; null fails closed (start.ts). */
  activeFreezeWindow: ActiveFreezeWindow | null;
  now?: () => Date;
}): Rollouts {
  const owner = `broker-${randomUUID()}`;
  const delivery: DeliveryDeps = {
    db: deps.db,
    committed: deps.committed,
    limits: deps.limits,
    owner,
    generatorId: orchestratorGenerator(deps.db),
    signer: deps.signer,
    taskTimeoutSeconds: () => deps.settings().taskTimeoutSeconds,
  };
  const leaseTtlMs = () => deps.settings().leaseTtlMs;
  const startDeps = { ...delivery, leaseTtlMs, activeFreezeWindow: deps.activeFreezeWindow, now: deps.now ?? (() => new Date()) };
  deps.scheduler.register({
    name: ROLLOUTS_TASK,
    intervalMs: () => deps.settings().intervalMs,
    async run(signal) {
      const started = await startApproved(startDeps, signal);
      const jobs = await claimJobs(deps.db, owner, leaseTtlMs(), JOBS_PER_RUN);
      let firstError: unknown = null;
      for (const job of jobs) {
        if (signal.aborted) break;
        await stepJob(delivery, job).catch((err: unknown) => {
          firstError ??= err;
        });
      }
      if (firstError) throw firstError;
      return started + jobs.length;
    },
  });
  return { owner, stop: () => releaseLeases(deps.db, owner).then(() => undefined) };
}
