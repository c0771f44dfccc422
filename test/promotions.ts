import type pg from "pg";
import { unique } from "./factories.js";

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
