import { Prisma } from "../generated/prisma/client.js";
import type { Db } from "../db/client.js";
import { POLL_TAG } from "./promotion-store.js";

export type JobStatus = "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED";
export type Strategy = "ALL_AT_ONCE" | "ROLLING";

export interface JobRow {
  id: string;
  promotionId: string;
  releaseId: string;
  environmentId: string;
  status: JobStatus;
  strategy: Strategy;
  batchSize: number | null;
  batchPercent: number | null;
  failureThreshold: number;
  currentBatch: number;
  renderedYaml: string | null;
  renderedChecksum: string | null;
  artifacts: unknown;
  rollbackOf: string | null;
  leaseOwner: string | null;
  message: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  createdAt: Date;
}

const POLL = Prisma.raw(POLL_TAG);

const JOB_COLUMNS = Prisma.raw(`j.id::text, j.promotion_id::text AS "promotionId", j.release_id::text AS "releaseId",
  j.environment_id::text AS "environmentId", j.status, j.strategy, j.batch_size AS "batchSize",
  j.batch_percent AS "batchPercent", j.failure_threshold AS "failureThreshold", j.current_batch AS "currentBatch",
  j.rendered_yaml AS "renderedYaml", j.rendered_checksum AS "renderedChecksum", j.artifacts,
  j.rollback_of::text AS "rollbackOf", j.lease_owner AS "leaseOwner", j.message, j.started_at AS "startedAt",
  j.finished_at AS "finishedAt", j.created_at AS "createdAt"`);

export interface NewJob {
  promotionId: string;
  releaseId: string;
  environmentId: string;
  strategy: Strategy;
  batchSize: number | null;
  batchPercent: number | null;
  failureThreshold: number;
  renderedYaml: string | null;
  renderedChecksum: string | null;
  artifacts: unknown;
  rollbackOf: string | null;
}

export async function insertJob(db: Db, job: NewJob): Promise<JobRow> {
  const rows = await db.$queryRaw<JobRow[]>`
    INSERT INTO deployment_jobs AS j (promotion_id, release_id, environment_id, strategy, batch_size, batch_percent,
                                      failure_threshold, rendered_yaml, rendered_checksum, artifacts, rollback_of)
    VALUES (${job.promotionId}::uuid, ${job.releaseId}::uuid, ${job.environmentId}::uuid, ${job.strategy},
            ${job.batchSize}, ${job.batchPercent}, ${job.failureThreshold}, ${job.renderedYaml}, ${job.renderedChecksum},
            ${JSON.stringify(job.artifacts)}::jsonb, ${job.rollbackOf}::uuid)
    RETURNING ${JOB_COLUMNS}`;
  return rows[0] as JobRow;
}

/**
 * Takes (or renews) the lease of up to `limit` active jobs whose lease is free, expired or
 * already ours; rows another broker is claiming right now are skipped, not waited for. A PENDING
 * job becomes RUNNING here.
 */
export function claimJobs(db: Db, owner: string, ttlMs: number, limit: number): Promise<JobRow[]> {
  return db.$queryRaw<JobRow[]>`
    ${POLL} UPDATE deployment_jobs AS j
       SET lease_owner = ${owner}, lease_expires_at = now() + ${ttlMs} * interval '1 millisecond',
           status = CASE WHEN j.status = 'PENDING' THEN 'RUNNING' ELSE j.status END,
           started_at = coalesce(j.started_at, now())
     WHERE j.id IN (SELECT id FROM deployment_jobs
                     WHERE status IN ('PENDING', 'RUNNING')
                       AND (lease_owner IS NULL OR lease_owner = ${owner} OR lease_expires_at < now())
                     ORDER BY created_at LIMIT ${limit}
                       FOR UPDATE SKIP LOCKED)
    RETURNING ${JOB_COLUMNS}`;
}

/** Takes the lease of one job just created in the caller's transaction. */
export async function claimNewJob(db: Db, jobId: string, owner: string, ttlMs: number): Promise<JobRow | null> {
  const rows = await db.$queryRaw<JobRow[]>`
    UPDATE deployment_jobs AS j
       SET lease_owner = ${owner}, lease_expires_at = now() + ${ttlMs} * interval '1 millisecond',
           status = 'RUNNING', started_at = now()
     WHERE j.id = ${jobId}::uuid AND j.status = 'PENDING'
    RETURNING ${JOB_COLUMNS}`;
  return rows[0] ?? null;
}

/** On a clean stop: another broker may take these jobs over at once instead of after the TTL. */
export async function releaseLeases(db: Db, owner: string): Promise<number> {
  return db.$executeRaw`
    UPDATE deployment_jobs SET lease_owner = NULL, lease_expires_at = NULL
     WHERE lease_owner = ${owner} AND status IN ('PENDING', 'RUNNING')`;
}

/** Moves to the next batch, only from the batch this broker saw and while it holds the lease. */
export async function advanceBatch(db: Db, jobId: string, owner: string, from: number): Promise<boolean> {
  const n = await db.$executeRaw`
    UPDATE deployment_jobs SET current_batch = ${from + 1}
     WHERE id = ${jobId}::uuid AND status = 'RUNNING' AND current_batch = ${from} AND lease_owner = ${owner}`;
  return n === 1;
}

/** The job's final status, written once: by the broker holding the lease, from RUNNING. */
export async function finishJob(
  db: Db,
  jobId: string,
  owner: string,
  outcome: { status: "SUCCEEDED" | "FAILED"; message: string | null },
): Promise<JobRow | null> {
  const rows = await db.$queryRaw<JobRow[]>`
    UPDATE deployment_jobs AS j
       SET status = ${outcome.status}, message = ${outcome.message}, finished_at = now(),
           lease_owner = NULL, lease_expires_at = NULL
     WHERE j.id = ${jobId}::uuid AND j.status = 'RUNNING' AND j.lease_owner = ${owner}
    RETURNING ${JOB_COLUMNS}`;
  return rows[0] ?? null;
}

export function jobsOfPromotions(db: Db, promotionIds: readonly string[]): Promise<JobRow[]> {
  return db.$queryRaw<JobRow[]>`
    SELECT ${JOB_COLUMNS} FROM deployment_jobs j
     WHERE j.promotion_id = ANY(${[...promotionIds]}::uuid[])
     ORDER BY j.created_at DESC, j.id DESC`;
}

export function jobsByIds(db: Db, ids: readonly string[]): Promise<JobRow[]> {
  return db.$queryRaw<JobRow[]>`SELECT ${JOB_COLUMNS} FROM deployment_jobs j WHERE j.id = ANY(${[...ids]}::uuid[])`;
}

/** The newest job of the environment, whatever its promotion. */
export async function latestJobOfEnvironment(db: Db, environmentId: string): Promise<JobRow | null> {
  const rows = await db.$queryRaw<JobRow[]>`
    SELECT ${JOB_COLUMNS} FROM deployment_jobs j WHERE j.environment_id = ${environmentId}::uuid
     ORDER BY j.created_at DESC, j.id DESC LIMIT 1`;
  return rows[0] ?? null;
}
