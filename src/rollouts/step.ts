import { inTransaction } from "../db/client.js";
import { completeJob, type JobOutcome } from "./complete.js";
import { deliverBatch, type DeliveryDeps } from "./deliver.js";
import { advanceBatch, type JobRow } from "./job-store.js";
import { batchState, failSilentTasks, foldAgentEvents, skipPending, type BatchState } from "./task-store.js";

/** What the job's counts say to do next. */
type Decision = { kind: "halt" | "complete"; outcome: JobOutcome } | { kind: "advance" } | { kind: "wait" };

export function decide(job: Pick<JobRow, "failureThreshold" | "currentBatch">, s: BatchState): Decision {
  if (s.total === 0) return { kind: "complete", outcome: { status: "FAILED", message: "the environment has no agents" } };
  if (s.failed >= job.failureThreshold) {
    const message = `halted: ${s.failed} task(s) failed (failure threshold ${job.failureThreshold})`;
    return { kind: "halt", outcome: { status: "FAILED", message } };
  }
  // A batch is done when each of its tasks has an outcome and no succeeded one is unhealthy;
  // failures below the threshold are tolerated, so the rollout goes on.
  if (s.settled < s.inBatch || s.unhealthy > 0) return { kind: "wait" };
  if (job.currentBatch < s.lastBatch) return { kind: "advance" };
  if (s.failed > 0) return { kind: "complete", outcome: { status: "FAILED", message: `${s.failed} task(s) failed` } };
  return { kind: "complete", outcome: { status: "SUCCEEDED", message: null } };
}

/**
 * One pass over a job this broker holds the lease of: fold agent events into its tasks, then
 * halt, complete, advance a batch, or deliver what the current batch still lacks. Every write is
 * guarded by the lease and the expected status, so a broker that lost the lease writes nothing.
 */
export async function stepJob(deps: DeliveryDeps, job: JobRow): Promise<void> {
  await foldAgentEvents(deps.db, job.id, deps.owner);
  // After the fold, so a report that did arrive counts before the silence does.
  await failSilentTasks(deps.db, job.id, deps.owner, deps.taskTimeoutSeconds());
  let current = job.currentBatch;
  for (;;) {
    const state = await batchState(deps.db, job.id, current);
    const decision = decide({ ...job, currentBatch: current }, state);
    if (decision.kind === "halt" || decision.kind === "complete") {
      const signer = await deps.signer();
      await inTransaction(deps.db, async (tx) => {
        if (decision.kind === "halt") await skipPending(tx, job.id, deps.owner);
        await completeJob(tx, job, deps.owner, decision.outcome, signer);
      });
      return;
    }
    if (decision.kind === "wait") {
      await deliverBatch(deps, job, current);
      return;
    }
    if (!(await advanceBatch(deps.db, job.id, deps.owner, current))) return;
    current++;
  }
}
