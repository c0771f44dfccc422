import { createHash } from "node:crypto";
import type { TestBroker } from "./broker.js";
import { ok } from "./broker.js";
import { createAgent, createGenerator, createStack, targetStack, unique } from "./factories.js";

/**
 * Release rows by plain SQL (environment, template, release, promotion, job, task), standing in
 * for what the catalog, promotions and rollout runner write, so stickers are tested on their own.
 */
export interface ReleaseTask {
  environmentId: string;
  environmentName: string;
  releaseId: string;
  releaseName: string;
  promotionId: string;
  jobId: string;
  taskId: string;
  digest: string;
}

export const DIGEST = `sha256:${"ab".repeat(32)}`;

export async function insertReleaseTask(
  broker: TestBroker,
  agentId: string,
  opts: { driftPolicy?: "REPORT" | "HEAL"; status?: string; stackId?: string } = {},
): Promise<ReleaseTask> {
  const q = async (text: string, params: unknown[]) =>
    (await broker.db.sql.query(text, params)).rows[0] as { id: string; name: string };
  const environmentName = unique("env").toLowerCase();
  const env = await q(
    `INSERT INTO environments (name, display_name, order_index, drift_policy)
     VALUES ($1, $1, (SELECT coalesce(max(order_index), 0) + 1 FROM environments), $2) RETURNING id`,
    [environmentName, opts.driftPolicy ?? "REPORT"],
  );
  const template = await q(
    `INSERT INTO stack_templates (name, version, template_content, parameters_schema, checksum)
     VALUES ($1, 1, 'kind: x', '{}', $2) RETURNING id`,
    [unique("tpl"), "0".repeat(64)],
  );
  const component = await q(`INSERT INTO components (name, display_name, image_repository) VALUES ($1, $1, $2) RETURNING id`, [
    unique("web"),
    "registry.example/web",
  ]);
  const componentName = (await q(`SELECT name FROM components WHERE id = $1`, [component.id])).name;
  const releaseName = unique("rel");
  const release = await q(
    `INSERT INTO releases (name, display_name, status, template_id) VALUES ($1, $1, 'READY', $2) RETURNING id`,
    [releaseName, template.id],
  );
  const promotion = await q(
    `INSERT INTO promotions (release_id, target_environment_id, status) VALUES ($1, $2, 'DEPLOYING') RETURNING id`,
    [release.id, env.id],
  );
  const job = await q(
    `INSERT INTO deployment_jobs (promotion_id, release_id, environment_id, status, strategy)
     VALUES ($1, $2, $3, 'RUNNING', 'ALL_AT_ONCE') RETURNING id`,
    [promotion.id, release.id, env.id],
  );
  const digests = [{ component: componentName, tag: "1.2.3", digest: DIGEST, semver: "1.2.3" }];
  const task = await q(
    `INSERT INTO deployment_tasks (job_id, agent_id, stack_id, status, digests) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [job.id, agentId, opts.stackId ?? null, opts.status ?? "PENDING", JSON.stringify(digests)],
  );
  return {
    environmentId: env.id,
    environmentName,
    releaseId: release.id,
    releaseName,
    promotionId: promotion.id,
    jobId: job.id,
    taskId: task.id,
    digest: DIGEST,
  };
}

/**
 * Delivers `yaml` for the task as the rollout runner does: the object on the agent's stack and the
 * task pointing at it (DELIVERED) in one transaction, so the object never reaches the agent
 * without its releaseContext.
 */
export async function deliverTask(
  broker: TestBroker,
  task: ReleaseTask,
  stack: { id: string; generatorId: string },
  yaml: string,
): Promise<{ objectId: string }> {
  const client = await broker.db.sql.connect();
  try {
    await client.query("BEGIN");
    const checksum = createHash("sha256").update(yaml).digest("hex");
    const object = await client.query(
      `INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum) VALUES ($1, $2, $3, $4) RETURNING id`,
      [stack.id, stack.generatorId, yaml, checksum],
    );
    await client.query(
      `UPDATE deployment_tasks SET deployment_object_id = $1, status = 'DELIVERED', delivered_at = now() WHERE id = $2`,
      [object.rows[0].id, task.taskId],
    );
    await client.query("COMMIT");
    return { objectId: object.rows[0].id };
  } finally {
    client.release();
  }
}

/** What the runner does once the agent's SUCCESS event is in. */
export async function succeedTask(broker: TestBroker, taskId: string): Promise<void> {
  await broker.db.sql.query(`UPDATE deployment_tasks SET status = 'SUCCEEDED', finished_at = now() WHERE id = $1`, [taskId]);
}

/** A generator, an active agent, a stack targeted at it, and a release task of that agent on it. */
export async function releaseFixture(broker: TestBroker, opts: { driftPolicy?: "REPORT" | "HEAL" } = {}) {
  const gen = await createGenerator(broker);
  const agent = await createAgent(broker, { activate: true });
  const stack = await createStack(broker, gen.pak);
  await targetStack(broker, agent.id, stack.id);
  const task = await insertReleaseTask(broker, agent.id, { ...opts, stackId: stack.id });
  return { gen, agent, stack: { id: stack.id, generatorId: gen.id }, task };
}

export const STICKER_FIELDS = `id contentHash content writtenAt driftDetected driftCheckedAt healedAt
  driftDetails { reason apiVersion kind namespace name path manager }
  agent { id } environment { id name } release { id name } promotion { id }`;

export async function reportSticker(broker: TestBroker, pak: string | null, taskId: string, extra: Record<string, unknown> = {}) {
  return broker.gql(
    `mutation($input: ReportVersionStickerInput!) { reportVersionSticker(input: $input) { sticker { ${STICKER_FIELDS} } } }`,
    { input: { taskId, content: { release: "r" }, contentHash: "a".repeat(64), writtenAt: new Date().toISOString(), ...extra } },
    pak,
  );
}

export async function reportDrift(broker: TestBroker, pak: string | null, input: Record<string, unknown>) {
  return broker.gql(
    `mutation($input: ReportDriftInput!) { reportDrift(input: $input) { sticker { ${STICKER_FIELDS} } } }`,
    { input },
    pak,
  );
}

export async function stickersOf(broker: TestBroker, agentId: string, pak = broker.adminPak) {
  return ok(
    await broker.gql<{ agent: { versionStickers: Record<string, any>[] } }>(
      `query($id: ID!) { agent(id: $id) { versionStickers { ${STICKER_FIELDS} } } }`,
      { id: agentId },
      pak,
    ),
  ).agent.versionStickers;
}
