import type { Db } from "../db/client.js";
import { finishJob, type JobRow } from "./job-store.js";
import { insertDomainEvent, markReleaseDeployed, movePromotion } from "./promotion-store.js";
import { tasksOfJobs } from "./task-store.js";

export interface JobOutcome {
  status: "SUCCEEDED" | "FAILED";
  message: string | null;
}

/**
 * The one place a job completes, in the caller's transaction: the job's final status (guarded:
 * RUNNING and our lease, so a second broker noticing the same completion writes nothing), then
 * the promotion (DEPLOYED/FAILED; a rollback's ROLLED_BACK on success), the release (DEPLOYED on
 * success), and the outbox event. The evidence packet (JOB_COMPLETED / ROLLBACK_COMPLETED, one per
 * job by unique index) belongs here too: `recordEvidence(tx, signer, {promotionId, jobId, ...})`.
 * Returns the finished job, or null when this broker no longer had it.
 */
export async function completeJob(tx: Db, job: JobRow, owner: string, outcome: JobOutcome): Promise<JobRow | null> {
  const finished = await finishJob(tx, job.id, owner, outcome);
  if (!finished) return null;
  const succeeded = outcome.status === "SUCCEEDED";
  const tasks = await tasksOfJobs(tx, [job.id]);
  const data = {
    promotionId: job.promotionId,
    jobId: job.id,
    releaseId: job.releaseId,
    environmentId: job.environmentId,
    status: outcome.status,
    message: outcome.message,
    rollbackOf: job.rollbackOf,
    tasks: tasks.map((t) => ({ agentId: t.agentId, status: t.status, deploymentObjectId: t.deploymentObjectId })),
  };
  if (job.rollbackOf) {
    // A failed rollback leaves the promotion as it was (DEPLOYED or FAILED): nothing was rolled back.
    if (succeeded && (await movePromotion(tx, job.promotionId, ["DEPLOYED", "FAILED"], "ROLLED_BACK", true)))
      await insertDomainEvent(tx, "promotion.rolled_back", data);
    return finished;
  }
  await movePromotion(tx, job.promotionId, ["DEPLOYING"], succeeded ? "DEPLOYED" : "FAILED", true);
  if (succeeded) await markReleaseDeployed(tx, job.releaseId);
  await insertDomainEvent(tx, succeeded ? "promotion.deployed" : "promotion.failed", data);
  return finished;
}
