import type pg from "pg";
import type { TestBroker } from "./broker.js";
import { CONFIGMAP_YAML, createAgent, createGenerator, createObject, createStack, unique } from "./factories.js";

/*
 * Rows of the release orchestration tables (migration 0019) inserted by plain SQL, as the catalog
 * and rollouts engineers' code (and other brokers) would write them: the promotions domain reads
 * them and is tested on its own.
 */

const hex64 = (n: number) => n.toString(16).padStart(64, "0");
let digestCounter = 0;

export async function insertTemplate(sql: pg.Pool): Promise<string> {
  const { rows } = await sql.query(
    `INSERT INTO stack_templates (name, version, template_content, parameters_schema, checksum)
     VALUES ($1, 1, 'kind: ConfigMap', '{}', $2) RETURNING id`,
    [unique("tpl"), hex64(1)],
  );
  return rows[0].id;
}

export interface EnvironmentRow {
  name?: string;
  orderIndex: number;
  requiredApprovals?: number;
  requireSod?: boolean;
  freezeWindows?: unknown[];
  timeZone?: string;
}

export async function insertEnvironment(sql: pg.Pool, e: EnvironmentRow): Promise<string> {
  const { rows } = await sql.query(
    `INSERT INTO environments (name, display_name, order_index, required_approvals, require_sod, freeze_windows, time_zone)
     VALUES ($1, $1, $2, $3, $4, $5::jsonb, $6) RETURNING id`,
    [
      e.name ?? unique("env").toLowerCase(),
      e.orderIndex,
      e.requiredApprovals ?? 0,
      e.requireSod ?? true,
      JSON.stringify(e.freezeWindows ?? []),
      e.timeZone ?? "UTC",
    ],
  );
  return rows[0].id;
}

/** A release with one component version, in the given status. */
export async function insertRelease(
  sql: pg.Pool,
  status: "DRAFT" | "READY" | "DEPLOYED" | "DEPRECATED" = "READY",
): Promise<{ releaseId: string; digest: string }> {
  const templateId = await insertTemplate(sql);
  const component = await sql.query(
    `INSERT INTO components (name, display_name, image_repository) VALUES ($1, $1, 'registry.example/app') RETURNING id`,
    [unique("comp").toLowerCase()],
  );
  const componentId = component.rows[0].id;
  const digest = `sha256:${hex64(++digestCounter + 1000)}`;
  const version = await sql.query(
    `INSERT INTO component_versions (component_id, tag, digest, semver) VALUES ($1, 'v1', $2, '1.0.0') RETURNING id`,
    [componentId, digest],
  );
  const release = await sql.query(`INSERT INTO releases (name, display_name, template_id) VALUES ($1, $1, $2) RETURNING id`, [
    unique("rel"),
    templateId,
  ]);
  const releaseId = release.rows[0].id;
  await sql.query(`INSERT INTO release_components (release_id, component_id, component_version_id) VALUES ($1, $2, $3)`, [
    releaseId,
    componentId,
    version.rows[0].id,
  ]);
  if (status !== "DRAFT") await sql.query(`UPDATE releases SET status = $2 WHERE id = $1`, [releaseId, status]);
  return { releaseId, digest };
}

/** A promotion row written directly (as another broker, or a later stage, would). */
export async function insertPromotion(
  sql: pg.Pool,
  p: { releaseId: string; environmentId: string; status?: string; requestedByUserId?: string | null },
): Promise<string> {
  const { rows } = await sql.query(
    `INSERT INTO promotions (release_id, target_environment_id, status, requested_by_user_id)
     VALUES ($1, $2, $3, $4) RETURNING id`,
    [p.releaseId, p.environmentId, p.status ?? "PENDING_APPROVAL", p.requestedByUserId ?? null],
  );
  return rows[0].id;
}

export type TaskSpec = { status?: string; health?: string };

/**
 * A finished deployment of `releaseId` into `environmentId`, as the rollouts runner writes it:
 * a promotion, its job and one task per agent (a fresh agent and deployment object each), and
 * the agents' health for those objects. Agents and objects come from the existing API.
 */
export async function insertDeployment(
  broker: TestBroker,
  d: { environmentId: string; releaseId: string; jobStatus?: string; tasks?: TaskSpec[] },
): Promise<{ jobId: string; promotionId: string }> {
  const sql = broker.db.sql;
  const jobStatus = d.jobStatus ?? "SUCCEEDED";
  const promotionId = await insertPromotion(sql, {
    releaseId: d.releaseId,
    environmentId: d.environmentId,
    status: jobStatus === "SUCCEEDED" ? "DEPLOYED" : "FAILED",
  });
  const job = await sql.query(
    `INSERT INTO deployment_jobs (promotion_id, release_id, environment_id, status, strategy)
     VALUES ($1, $2, $3, $4, 'ALL_AT_ONCE') RETURNING id`,
    [promotionId, d.releaseId, d.environmentId, jobStatus],
  );
  const jobId = job.rows[0].id;
  const tasks = d.tasks ?? [];
  if (tasks.length > 0) {
    const generator = await createGenerator(broker);
    const stack = await createStack(broker, generator.pak);
    for (const task of tasks) {
      const agent = await createAgent(broker);
      const object = await createObject(broker, generator.pak, stack.id, CONFIGMAP_YAML(unique("cm").toLowerCase()));
      await sql.query(
        `INSERT INTO deployment_tasks (job_id, agent_id, stack_id, status, deployment_object_id) VALUES ($1, $2, $3, $4, $5)`,
        [jobId, agent.id, stack.id, task.status ?? "SUCCEEDED", object.id],
      );
      if (task.health)
        await sql.query(
          `INSERT INTO deployment_health (agent_id, deployment_object_id, status, checked_at) VALUES ($1, $2, $3, now())`,
          [agent.id, object.id, task.health],
        );
    }
  }
  return { jobId, promotionId };
}

let orderBase = 0;

/**
 * A previous and a target environment next to each other in promotion order (and far from every
 * other pair), and a READY release deployed, healthy, in the previous one.
 */
export async function promotablePair(broker: TestBroker, target: Omit<EnvironmentRow, "orderIndex"> = {}) {
  orderBase += 100;
  const sql = broker.db.sql;
  const previousId = await insertEnvironment(sql, { orderIndex: orderBase });
  const environmentId = await insertEnvironment(sql, { ...target, orderIndex: orderBase + 1 });
  const { releaseId, digest } = await insertRelease(sql);
  await insertDeployment(broker, { environmentId: previousId, releaseId });
  return { previousId, environmentId, releaseId, digest };
}

/** The next free pair of order indexes (previous, target) for tests that build their own. */
export function nextOrderPair(): [number, number] {
  orderBase += 100;
  return [orderBase, orderBase + 1];
}

/**
 * The outbox events of one promotion among those a probe saw: the rollout runner may end another
 * test's promotion meanwhile (its promotion.failed lands in the same window).
 */
export function eventsOfPromotion<E extends { data: unknown }>(events: E[], promotionId: string): E[] {
  return events.filter((e) => (e.data as { promotion_id?: string }).promotion_id === promotionId);
}
