import type { Db } from "../db/client.js";
import type { EvidenceSigner } from "../evidence/keys.js";
import { recordEvidence } from "../evidence/service.js";
import { finishJob, type JobRow } from "./job-store.js";
import { insertDomainEvent } from "../webhooks/outbox.js";
import { markReleaseDeployed, movePromotion } from "./promotion-store.js";
import { taskResults } from "./task-store.js";

export interface JobOutcome {
  status: "SUCCEEDED" | "FAILED";
  message: string | null;
}

/**
 * The one place a job completes, in the caller's transaction: the job's final status (guarded:
 * RUNNING and our lease, so a second broker noticing the same completion writes nothing), then
 * the promotion (DEPLOYED/FAILED; a rollback's ROLLED_BACK on success), the release (DEPLOYED on
 * success), the outbox event, and the signed evidence packet (JOB_COMPLETED or
 * ROLLBACK_COMPLETED: digests, rendered checksum, per-agent results). Returns the finished job,
 * or null when this broker no longer had it.
 */
export async function completeJob(
  tx: Db,
  job: JobRow,
  owner: string,
  outcome: JobOutcome,
  signer: EvidenceSigner,
): Promise<JobRow | null> {
  const finished = await finishJob(tx, job.id, owner, outcome);
  if (!finished) return null;
  const succeeded = outcome.status === "SUCCEEDED";
  const results = await taskResults(tx, job.id);
  const summary = {
    releaseId: job.releaseId,
    environmentId: job.environmentId,
    status: outcome.status,
    message: outcome.message,
    rollbackOf: job.rollbackOf,
    strategy: job.strategy,
    renderedChecksum: job.renderedChecksum,
    artifacts: job.artifacts,
    results,
  };
  await recordEvidence(tx, signer, {
    promotionId: job.promotionId,
    jobId: job.id,
    packetType: job.rollbackOf ? "ROLLBACK_COMPLETED" : "JOB_COMPLETED",
    content: summary,
  });
  const event = { promotionId: job.promotionId, jobId: job.id, ...summary };
  if (job.rollbackOf) {
    // A failed rollback leaves the promotion as it was (DEPLOYED or FAILED): nothing was rolled back.
    if (succeeded && (await movePromotion(tx, job.promotionId, ["DEPLOYED", "FAILED"], "ROLLED_BACK", true)))
      await insertDomainEvent(tx, "promotion.rolled_back", event);
    return finished;
  }
  await movePromotion(tx, job.promotionId, ["DEPLOYING"], succeeded ? "DEPLOYED" : "FAILED", true);
  if (succeeded) await markReleaseDeployed(tx, job.releaseId);
  await insertDomainEvent(tx, succeeded ? "promotion.deployed" : "promotion.failed", event);
  return finished;
}
