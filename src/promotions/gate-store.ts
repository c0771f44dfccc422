import type { Db } from "../db/client.js";
import { Prisma } from "../generated/prisma/client.js";
import type { FreezeWindow } from "../environments/freeze-windows.js";

/*
 * What the gates read, from tables other domains write (catalog: environments, releases;
 * rollouts: deployment jobs and tasks; agents: deployment_health). Reads only.
 */

export interface ReleaseFacts {
  id: string;
  name: string;
  status: string;
  digests: { component: string; image: string; tag: string; digest: string; semver: string }[];
}

export interface EnvironmentFacts {
  id: string;
  name: string;
  orderIndex: number;
  requiredApprovals: number;
  requireSod: boolean;
  freezeWindows: FreezeWindow[];
  timeZone: string;
}

export async function readRelease(db: Db, id: string): Promise<ReleaseFacts | undefined> {
  const rows = await db.$queryRaw<Omit<ReleaseFacts, "digests">[]>`SELECT id, name, status FROM releases WHERE id = ${id}::uuid`;
  const release = rows[0];
  if (!release) return undefined;
  const digests = await db.$queryRaw<ReleaseFacts["digests"]>`
    SELECT c.name AS component, c.image_repository || '@' || v.digest AS image, v.tag, v.digest, v.semver
    FROM release_components rc JOIN components c ON c.id = rc.component_id
    JOIN component_versions v ON v.id = rc.component_version_id
    WHERE rc.release_id = ${id}::uuid ORDER BY c.name`;
  return { ...release, digests };
}

const ENV_COLUMNS = Prisma.sql`id, name, order_index AS "orderIndex", required_approvals AS "requiredApprovals",
  require_sod AS "requireSod", freeze_windows AS "freezeWindows", time_zone AS "timeZone"`;

/** A live environment. */
export async function readEnvironment(db: Db, id: string): Promise<EnvironmentFacts | undefined> {
  const rows = await db.$queryRaw<EnvironmentFacts[]>`
    SELECT ${ENV_COLUMNS} FROM environments WHERE id = ${id}::uuid AND deleted_at IS NULL`;
  return rows[0];
}

/** The live environment with the greatest order index below `orderIndex`. */
export async function previousEnvironment(db: Db, orderIndex: number): Promise<EnvironmentFacts | undefined> {
  const rows = await db.$queryRaw<EnvironmentFacts[]>`
    SELECT ${ENV_COLUMNS} FROM environments WHERE order_index < ${orderIndex} AND deleted_at IS NULL
    ORDER BY order_index DESC LIMIT 1`;
  return rows[0];
}

export interface PreviousDeployment {
  job: { id: string; releaseId: string; status: string } | null;
  tasks: { agentId: string; status: string }[];
  /** Tasks of the job whose object the agent reports failing or degraded (src/agents/health.ts terms). */
  unhealthy: { agentId: string; deploymentObjectId: string; health: string }[];
}

/** The environment's latest deployment job, its tasks, and their unhealthy objects. */
export async function latestDeployment(db: Db, environmentId: string): Promise<PreviousDeployment> {
  const jobs = await db.$queryRaw<NonNullable<PreviousDeployment["job"]>[]>`
    SELECT id, release_id AS "releaseId", status FROM deployment_jobs WHERE environment_id = ${environmentId}::uuid
    ORDER BY created_at DESC, id DESC LIMIT 1`;
  const job = jobs[0] ?? null;
  if (!job) return { job, tasks: [], unhealthy: [] };
  const tasks = await db.$queryRaw<PreviousDeployment["tasks"]>`
    SELECT agent_id AS "agentId", status FROM deployment_tasks WHERE job_id = ${job.id}::uuid ORDER BY agent_id`;
  const unhealthy = await db.$queryRaw<PreviousDeployment["unhealthy"]>`
    SELECT t.agent_id AS "agentId", t.deployment_object_id AS "deploymentObjectId", h.status AS health
    FROM deployment_tasks t
    JOIN deployment_health h ON h.agent_id = t.agent_id AND h.deployment_object_id = t.deployment_object_id
    WHERE t.job_id = ${job.id}::uuid AND lower(h.status) IN ('failing', 'degraded')
    ORDER BY t.agent_id`;
  return { job, tasks, unhealthy };
}
