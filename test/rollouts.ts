import { randomBytes } from "node:crypto";
import type pg from "pg";
import { type ExportedPacket, verifyPacket } from "../src/evidence/verify.js";
import type { TestBroker } from "./broker.js";
import { unique } from "./factories.js";
import { createTemplate } from "./templates.js";

/*
 * Release-orchestration rows for the rollout tests, inserted by SQL: the catalog's and the
 * promotions' mutations are built elsewhere, and the runner only reads these tables.
 */

/** A ConfigMap naming the web component's image and the environment it was rendered for. */
export const RELEASE_TEMPLATE = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ name }}
  namespace: default
data:
  image: "{{ components.web.image }}"
  semver: "{{ components.web.semver }}"
  environment: "{{ environment.name }}"
  color: "{{ environment.config.color | default('none') }}"
`;

const RELEASE_SCHEMA = JSON.stringify({
  type: "object",
  properties: { name: { type: "string", pattern: "^[a-z][a-z0-9-]*$" } },
  required: ["name"],
});

const digestOf = () => `sha256:${randomBytes(32).toString("hex")}`;
let orderIndex = 0;

async function one<T = { id: string }>(sql: pg.Pool, text: string, params: unknown[]): Promise<T> {
  const { rows } = await sql.query(text, params);
  return rows[0] as T;
}

export interface ReleaseFixture {
  id: string;
  digest: string;
  image: string;
  semver: string;
}

/** A READY release of one component `web` (a fresh version), rendering RELEASE_TEMPLATE with `name`. */
export async function createRelease(
  broker: TestBroker,
  opts: { name: string; templateId?: string; template?: string; semver?: string; parameters?: Record<string, unknown> },
): Promise<ReleaseFixture & { templateId: string }> {
  const sql = broker.db.sql;
  const templateId =
    opts.templateId ??
    (
      await createTemplate(broker, broker.adminPak, {
        templateContent: opts.template ?? RELEASE_TEMPLATE,
        parametersSchema: RELEASE_SCHEMA,
      })
    ).id;
  const repository = "registry.example/web";
  const component =
    (await sql.query("SELECT id FROM components WHERE name = 'web' AND deleted_at IS NULL")).rows[0] ??
    (await one(sql, "INSERT INTO components (name, display_name, image_repository) VALUES ('web', 'Web', $1) RETURNING id", [
      repository,
    ]));
  const digest = digestOf();
  const semver = opts.semver ?? `1.0.${++orderIndex}`;
  const version = await one(
    sql,
    "INSERT INTO component_versions (component_id, tag, digest, semver) VALUES ($1, $2, $3, $4) RETURNING id",
    [component.id, `v${semver}`, digest, semver],
  );
  const release = await one(
    sql,
    "INSERT INTO releases (name, display_name, template_id, parameters) VALUES ($1, $1, $2, $3) RETURNING id",
    [unique("release"), templateId, JSON.stringify({ ...opts.parameters, name: opts.name })],
  );
  await sql.query("INSERT INTO release_components (release_id, component_id, component_version_id) VALUES ($1, $2, $3)", [
    release.id,
    component.id,
    version.id,
  ]);
  await sql.query("UPDATE releases SET status = 'READY' WHERE id = $1", [release.id]);
  return { id: release.id, digest, image: `${repository}@${digest}`, semver, templateId };
}

export interface EnvironmentOptions {
  members: string[];
  strategy?: "ALL_AT_ONCE" | "ROLLING";
  batchSize?: number;
  batchPercent?: number;
  failureThreshold?: number;
  config?: Record<string, unknown>;
  freezeWindows?: unknown[];
  selectorLabels?: string[];
}

export async function createEnvironment(broker: TestBroker, opts: EnvironmentOptions): Promise<{ id: string; name: string }> {
  const name = unique("env");
  const env = await one(
    broker.db.sql,
    `INSERT INTO environments (name, display_name, order_index, config, rollout_strategy, batch_size, batch_percent,
                               failure_threshold, freeze_windows, agent_selector)
     VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
    [
      name,
      ++orderIndex,
      JSON.stringify(opts.config ?? {}),
      opts.strategy ?? "ALL_AT_ONCE",
      opts.batchSize ?? null,
      opts.batchPercent ?? null,
      opts.failureThreshold ?? 1,
      JSON.stringify(opts.freezeWindows ?? []),
      JSON.stringify({ labels: opts.selectorLabels ?? [], annotations: [] }),
    ],
  );
  for (const agentId of opts.members)
    await broker.db.sql.query("INSERT INTO environment_members (environment_id, agent_id) VALUES ($1, $2)", [env.id, agentId]);
  return { id: env.id, name };
}

/** An APPROVED promotion (as the promotions domain leaves it once approvals are complete). */
export async function approvedPromotion(broker: TestBroker, releaseId: string, environmentId: string): Promise<string> {
  const row = await one(
    broker.db.sql,
    `INSERT INTO promotions (release_id, target_environment_id, status, decided_at) VALUES ($1, $2, 'APPROVED', now()) RETURNING id`,
    [releaseId, environmentId],
  );
  return row.id;
}

export interface JobView {
  id: string;
  status: string;
  current_batch: number;
  message: string | null;
}

export async function jobsOf(broker: TestBroker, promotionId: string): Promise<JobView[]> {
  const { rows } = await broker.db.sql.query(
    "SELECT id, status, current_batch, message FROM deployment_jobs WHERE promotion_id = $1 ORDER BY created_at",
    [promotionId],
  );
  return rows;
}

export interface TaskView {
  agent_id: string;
  batch_index: number;
  status: string;
  deployment_object_id: string | null;
  previous_deployment_object_id: string | null;
  message: string | null;
}

export async function tasksOf(broker: TestBroker, jobId: string): Promise<TaskView[]> {
  const { rows } = await broker.db.sql.query(
    `SELECT agent_id, batch_index, status, deployment_object_id, previous_deployment_object_id, message
       FROM deployment_tasks WHERE job_id = $1 ORDER BY batch_index, agent_id`,
    [jobId],
  );
  return rows;
}

export async function promotionStatus(broker: TestBroker, promotionId: string): Promise<string> {
  return (await one<{ status: string }>(broker.db.sql, "SELECT status FROM promotions WHERE id = $1", [promotionId])).status;
}

/** What an agent would report for every DELIVERED task of the job (the API tests run no agents). */
export async function reportTasks(broker: TestBroker, jobId: string, status: "SUCCESS" | "FAILURE" = "SUCCESS"): Promise<void> {
  await broker.db.sql.query(
    `INSERT INTO agent_events (agent_id, deployment_object_id, status)
     SELECT agent_id, deployment_object_id, $2 FROM deployment_tasks WHERE job_id = $1 AND status = 'DELIVERED'`,
    [jobId, status],
  );
}

/** A job's completion packet (JOB_COMPLETED / ROLLBACK_COMPLETED) and whether it verifies under the published keys. */
export async function completionPacket(broker: TestBroker, jobId: string) {
  const { rows } = await broker.db.sql.query(
    `SELECT id, promotion_id AS "promotionId", job_id AS "jobId", packet_type AS "packetType", content,
            content_hash AS "contentHash", signature, signer_key_id AS "signerKeyId"
       FROM evidence_packets WHERE job_id = $1 AND packet_type IN ('JOB_COMPLETED', 'ROLLBACK_COMPLETED')`,
    [jobId],
  );
  const keys = (await broker.db.sql.query(`SELECT id, public_key_pem AS "publicKeyPem" FROM evidence_signing_keys`)).rows;
  const packets = rows as (ExportedPacket & { content: Record<string, any> })[];
  return { packets, verdicts: packets.map((p) => verifyPacket(p, keys)) };
}
