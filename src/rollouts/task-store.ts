import { Prisma } from "../generated/prisma/client.js";
import type { Db } from "../db/client.js";

export type TaskStatus = "PENDING" | "DELIVERED" | "SUCCEEDED" | "FAILED" | "SKIPPED";

export interface TaskRow {
  id: string;
  jobId: string;
  agentId: string;
  stackId: string | null;
  batchIndex: number;
  status: TaskStatus;
  deploymentObjectId: string | null;
  previousDeploymentObjectId: string | null;
  digests: unknown;
  message: string | null;
  deliveredAt: Date | null;
  finishedAt: Date | null;
}

const TASK_COLUMNS = Prisma.raw(`t.id::text, t.job_id::text AS "jobId", t.agent_id::text AS "agentId",
  t.stack_id::text AS "stackId", t.batch_index AS "batchIndex", t.status,
  t.deployment_object_id::text AS "deploymentObjectId",
  t.previous_deployment_object_id::text AS "previousDeploymentObjectId", t.digests, t.message,
  t.delivered_at AS "deliveredAt", t.finished_at AS "finishedAt"`);

/** Every write to a job's tasks is this broker's only while it holds the job's lease. */
const leaseHeld = (jobId: string, owner: string) =>
  Prisma.sql`EXISTS (SELECT 1 FROM deployment_jobs l
                      WHERE l.id = ${jobId}::uuid AND l.status = 'RUNNING' AND l.lease_owner = ${owner})`;

export async function insertTasks(
  db: Db,
  jobId: string,
  tasks: readonly { agentId: string; batchIndex: number; digests: unknown }[],
): Promise<void> {
  if (tasks.length === 0) return;
  await db.$executeRaw`
    INSERT INTO deployment_tasks (job_id, agent_id, batch_index, digests)
    SELECT ${jobId}::uuid, x.agent_id, x.batch_index, x.digests
      FROM jsonb_to_recordset(${JSON.stringify(tasks.map((t) => ({ agent_id: t.agentId, batch_index: t.batchIndex, digests: t.digests })))}::jsonb)
           AS x(agent_id uuid, batch_index int, digests jsonb)`;
}

export function tasksOfJobs(db: Db, jobIds: readonly string[]): Promise<TaskRow[]> {
  return db.$queryRaw<TaskRow[]>`
    SELECT ${TASK_COLUMNS} FROM deployment_tasks t
     WHERE t.job_id = ANY(${[...jobIds]}::uuid[]) ORDER BY t.batch_index, t.created_at, t.id`;
}

/** PENDING tasks of batches up to `batch`, to deliver. */
export function pendingTasks(db: Db, jobId: string, batch: number): Promise<TaskRow[]> {
  return db.$queryRaw<TaskRow[]>`
    SELECT ${TASK_COLUMNS} FROM deployment_tasks t
     WHERE t.job_id = ${jobId}::uuid AND t.status = 'PENDING' AND t.batch_index <= ${batch}
     ORDER BY t.batch_index, t.id`;
}

/**
 * PENDING -> DELIVERED with its object, in the object's own transaction: a second broker (or a
 * stale one) finds the task no longer PENDING and its object is rolled back with it.
 */
export async function markDelivered(
  db: Db,
  owner: string,
  task: { id: string; jobId: string; stackId: string; objectId: string; previousObjectId: string | null },
): Promise<boolean> {
  const n = await db.$executeRaw`
    UPDATE deployment_tasks SET status = 'DELIVERED', stack_id = ${task.stackId}::uuid,
           deployment_object_id = ${task.objectId}::uuid,
           previous_deployment_object_id = ${task.previousObjectId}::uuid, delivered_at = now()
     WHERE id = ${task.id}::uuid AND status = 'PENDING' AND ${leaseHeld(task.jobId, owner)}`;
  return n === 1;
}

/** Each DELIVERED task takes the outcome of the agent's newest event for its object. */
export function foldAgentEvents(db: Db, jobId: string, owner: string): Promise<number> {
  return db.$executeRaw`
    UPDATE deployment_tasks t
       SET status = CASE e.status WHEN 'SUCCESS' THEN 'SUCCEEDED' ELSE 'FAILED' END,
           message = e.message, finished_at = now()
      FROM (SELECT DISTINCT ON (ae.agent_id, ae.deployment_object_id) ae.agent_id, ae.deployment_object_id, ae.status, ae.message
              FROM agent_events ae
              JOIN deployment_tasks d ON d.deployment_object_id = ae.deployment_object_id AND d.agent_id = ae.agent_id
             WHERE d.job_id = ${jobId}::uuid AND d.status = 'DELIVERED' AND ae.deleted_at IS NULL
             ORDER BY ae.agent_id, ae.deployment_object_id, ae.created_at DESC, ae.id DESC) e
     WHERE t.job_id = ${jobId}::uuid AND t.status = 'DELIVERED'
       AND t.deployment_object_id = e.deployment_object_id AND t.agent_id = e.agent_id
       AND ${leaseHeld(jobId, owner)}`;
}

/** Delivered tasks whose agent has not reported for `seconds`: an agent that is gone must not hold the job forever. */
export function failSilentTasks(db: Db, jobId: string, owner: string, seconds: number): Promise<number> {
  const message = `no report from the agent within ${seconds} s of delivery`;
  return db.$executeRaw`
    UPDATE deployment_tasks SET status = 'FAILED', message = ${message}, finished_at = now()
     WHERE job_id = ${jobId}::uuid AND status = 'DELIVERED'
       AND delivered_at < now() - make_interval(secs => ${seconds}::int) AND ${leaseHeld(jobId, owner)}`;
}

/** A halted job's undelivered tasks. */
export function skipPending(db: Db, jobId: string, owner: string): Promise<number> {
  return db.$executeRaw`
    UPDATE deployment_tasks SET status = 'SKIPPED', finished_at = now()
     WHERE job_id = ${jobId}::uuid AND status = 'PENDING' AND ${leaseHeld(jobId, owner)}`;
}

export interface BatchState {
  total: number;
  failed: number;
  inBatch: number;
  settled: number;
  unhealthy: number;
  lastBatch: number;
}

/**
 * The job's counts for its current batch. Unhealthy: a succeeded task whose object the agent
 * reports `failing` or `degraded` (the terms of src/agents/health.ts and the fleet view).
 */
export async function batchState(db: Db, jobId: string, batch: number): Promise<BatchState> {
  const [row] = await db.$queryRaw<BatchState[]>`
    SELECT count(*)::int AS total,
           count(*) FILTER (WHERE t.status = 'FAILED')::int AS failed,
           count(*) FILTER (WHERE t.batch_index = ${batch})::int AS "inBatch",
           count(*) FILTER (WHERE t.batch_index = ${batch} AND t.status IN ('SUCCEEDED', 'FAILED'))::int AS settled,
           count(*) FILTER (WHERE t.batch_index = ${batch} AND t.status = 'SUCCEEDED'
                              AND lower(h.status) IN ('failing', 'degraded'))::int AS unhealthy,
           coalesce(max(t.batch_index), -1)::int AS "lastBatch"
      FROM deployment_tasks t
      LEFT JOIN deployment_health h ON h.agent_id = t.agent_id AND h.deployment_object_id = t.deployment_object_id
     WHERE t.job_id = ${jobId}::uuid`;
  return row as BatchState;
}

/** The health an agent reported for each task's object (null before a report). */
export async function healthOfTasks(db: Db, taskIds: readonly string[]): Promise<Map<string, string>> {
  const rows = await db.$queryRaw<{ id: string; status: string }[]>`
    SELECT t.id::text, h.status FROM deployment_tasks t
      JOIN deployment_health h ON h.agent_id = t.agent_id AND h.deployment_object_id = t.deployment_object_id
     WHERE t.id = ANY(${[...taskIds]}::uuid[])`;
  return new Map(rows.map((r) => [r.id, r.status]));
}

/** What a rollback task re-delivers: the object the rolled-back task's stack held before it. */
export async function rollbackSource(
  db: Db,
  rolledBackJobId: string,
  agentId: string,
): Promise<{ yamlContent: string; isDeletionMarker: boolean } | null> {
  const rows = await db.$queryRaw<{ yamlContent: string; isDeletionMarker: boolean }[]>`
    SELECT o.yaml_content AS "yamlContent", o.is_deletion_marker AS "isDeletionMarker"
      FROM deployment_tasks t JOIN deployment_objects o ON o.id = t.previous_deployment_object_id
     WHERE t.job_id = ${rolledBackJobId}::uuid AND t.agent_id = ${agentId}::uuid`;
  return rows[0] ?? null;
}

/**
 * A rollback job's tasks: one per agent the rolled-back job delivered to, on the same stack, with
 * the digests of the task that delivered what the stack held before (none for a deletion).
 */
export async function insertRollbackTasks(db: Db, jobId: string, rolledBackJobId: string): Promise<number> {
  return db.$executeRaw`
    INSERT INTO deployment_tasks (job_id, agent_id, stack_id, batch_index, digests)
    SELECT ${jobId}::uuid, t.agent_id, t.stack_id, 0, coalesce(p.digests, '[]'::jsonb)
      FROM deployment_tasks t
      LEFT JOIN deployment_tasks p ON p.deployment_object_id = t.previous_deployment_object_id
     WHERE t.job_id = ${rolledBackJobId}::uuid AND t.deployment_object_id IS NOT NULL`;
}

export interface TaskResult {
  agentId: string;
  batchIndex: number;
  status: TaskStatus;
  message: string | null;
  deploymentObjectId: string | null;
  /** SHA-256 of what was delivered (a rollback's content differs per agent). */
  checksum: string | null;
}

/** Per-agent results of a job, for its completion event and evidence. */
export function taskResults(db: Db, jobId: string): Promise<TaskResult[]> {
  return db.$queryRaw<TaskResult[]>`
    SELECT t.agent_id::text AS "agentId", t.batch_index AS "batchIndex", t.status, t.message,
           t.deployment_object_id::text AS "deploymentObjectId", o.yaml_checksum AS checksum
      FROM deployment_tasks t LEFT JOIN deployment_objects o ON o.id = t.deployment_object_id
     WHERE t.job_id = ${jobId}::uuid ORDER BY t.batch_index, t.agent_id`;
}
