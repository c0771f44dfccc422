import type { Identity } from "../auth/identity.js";
import { inTransaction, type Database } from "../db/client.js";
import { conflict, forbidden, notFound } from "../errors.js";
import { requireId } from "../validation.js";
import { insertJob, jobsOfPromotions, latestJobOfEnvironment, type JobRow } from "./job-store.js";
import { lockPromotion, type PromotionRef } from "./promotion-store.js";
import { insertRollbackTasks } from "./task-store.js";

const active = (job: JobRow) => job.status === "PENDING" || job.status === "RUNNING";

/** The job to roll back: the promotion's latest release job, while nothing newer went into the environment. */
function rolledBackJob(promotion: PromotionRef, jobs: JobRow[], environmentLatest: JobRow | null): JobRow {
  if (promotion.status !== "DEPLOYED" && promotion.status !== "FAILED")
    throw conflict(`the promotion is ${promotion.status}: only a DEPLOYED or FAILED promotion is rolled back`);
  if (jobs.some(active)) throw conflict("a job of this promotion is still running");
  const target = jobs.find((j) => j.rollbackOf === null);
  if (!target) throw conflict("the promotion has no deployment job to roll back");
  if (environmentLatest && environmentLatest.promotionId !== promotion.id)
    throw conflict("a later promotion went into the environment: roll that one back first");
  return target;
}

/**
 * rollbackPromotion: the admin key and ADMIN users (read-only users are refused before any
 * mutation). A new ALL_AT_ONCE job with `rollback_of` that re-delivers, to each agent the job
 * delivered to, what its stack held before (a deletion marker where it held nothing); the
 * runner delivers it and completeJob marks the promotion ROLLED_BACK when it succeeds.
 */
export async function rollbackPromotion(db: Database, identity: Identity, promotionId: string) {
  if (identity.role !== "ADMIN") throw forbidden("admin only");
  const id = requireId("promotionId", promotionId);
  return inTransaction(db, async (tx) => {
    const promotion = await lockPromotion(tx, id);
    if (!promotion) throw notFound("promotion");
    const jobs = await jobsOfPromotions(tx, [id]);
    const target = rolledBackJob(promotion, jobs, await latestJobOfEnvironment(tx, promotion.environmentId));
    const job = await insertJob(tx, {
      promotionId: id,
      releaseId: promotion.releaseId,
      environmentId: promotion.environmentId,
      strategy: "ALL_AT_ONCE",
      batchSize: null,
      batchPercent: null,
      failureThreshold: target.failureThreshold,
      renderedYaml: null,
      renderedChecksum: null,
      artifacts: { rollbackOf: target.id },
      rollbackOf: target.id,
    });
    if ((await insertRollbackTasks(tx, job.id, target.id)) === 0)
      throw conflict("the job to roll back delivered nothing: there is nothing to re-deliver");
    return { promotion, job };
  });
}
