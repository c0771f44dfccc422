import { Prisma } from "../generated/prisma/client.js";
import type { Db } from "../db/client.js";

/** ReleaseContext without the broker setting (stickerNamespace), keyed by the object it describes. */
export interface ReleaseContextRow {
  deploymentObjectId: string;
  taskId: string;
  releaseId: string;
  releaseName: string;
  promotionId: string;
  environmentId: string;
  environmentName: string;
  digests: { component: string; image: string; tag: string; digest: string; semver: string }[];
  driftPolicy: "REPORT" | "HEAL";
}

/** What reportVersionSticker and reportDrift need of a task: whose it is, where it stands, what it delivered. */
export interface TaskRow {
  id: string;
  agentId: string;
  status: string;
  deploymentObjectId: string | null;
  releaseId: string;
  promotionId: string;
  environmentId: string;
  /** The agent's newest report on the task's object is SUCCESS (the runner may not have folded it in yet). */
  reportedSuccess: boolean;
}

export interface DriftItemRow {
  reason: "CHANGED" | "DELETED" | "FOREIGN_MANAGER" | "STICKER_CHANGED";
  apiVersion: string;
  kind: string;
  namespace: string | null;
  name: string;
  path: string | null;
  manager: string | null;
}

/** A version_stickers row, with the scalar fields of its environment, release and promotion. */
export interface StickerRow {
  id: string;
  agentId: string;
  environmentId: string;
  releaseId: string;
  promotionId: string;
  taskId: string;
  deploymentObjectId: string;
  content: unknown;
  contentHash: string;
  writtenAt: Date;
  driftDetected: boolean;
  driftDetails: DriftItemRow[];
  driftCheckedAt: Date | null;
  healedAt: Date | null;
  // Until the release-catalog and promotions loaders are merged in, these are read here (SQL).
  environment: Record<string, unknown>;
  release: Record<string, unknown>;
  promotion: Record<string, unknown>;
}

/** The releaseContext of each object that a release job delivered (one task per object, by unique key). */
export async function releaseContextsOf(db: Db, objectIds: readonly string[]): Promise<ReleaseContextRow[]> {
  return db.$queryRaw<ReleaseContextRow[]>`
    SELECT t.deployment_object_id::text AS "deploymentObjectId", t.id::text AS "taskId",
           r.id::text AS "releaseId", r.name AS "releaseName", p.id::text AS "promotionId",
           e.id::text AS "environmentId", e.name AS "environmentName", e.drift_policy AS "driftPolicy",
           COALESCE((
             SELECT jsonb_agg(jsonb_build_object(
                      'component', COALESCE(d->>'component', ''),
                      'image', COALESCE(d->>'image', c.image_repository || '@' || (d->>'digest'), ''),
                      'tag', COALESCE(d->>'tag', ''), 'digest', COALESCE(d->>'digest', ''),
                      'semver', COALESCE(d->>'semver', '')) ORDER BY x.ord)
               FROM jsonb_array_elements(CASE WHEN jsonb_typeof(t.digests) = 'array' THEN t.digests ELSE '[]'::jsonb END)
                    WITH ORDINALITY AS x(d, ord)
               LEFT JOIN components c ON c.name = d->>'component' AND c.deleted_at IS NULL), '[]'::jsonb) AS digests
      FROM deployment_tasks t
      JOIN deployment_jobs j ON j.id = t.job_id
      JOIN promotions p ON p.id = j.promotion_id
      JOIN releases r ON r.id = j.release_id
      JOIN environments e ON e.id = j.environment_id
     WHERE t.deployment_object_id = ANY(${[...objectIds]}::uuid[])`;
}

export async function findTask(db: Db, taskId: string): Promise<TaskRow | null> {
  const rows = await db.$queryRaw<TaskRow[]>`
    SELECT t.id::text, t.agent_id::text AS "agentId", t.status, t.deployment_object_id::text AS "deploymentObjectId",
           j.release_id::text AS "releaseId", j.promotion_id::text AS "promotionId", j.environment_id::text AS "environmentId",
           coalesce((SELECT e.status = 'SUCCESS' FROM agent_events e
                      WHERE e.agent_id = t.agent_id AND e.deployment_object_id = t.deployment_object_id AND e.deleted_at IS NULL
                      ORDER BY e.created_at DESC, e.id DESC LIMIT 1), false) AS "reportedSuccess"
      FROM deployment_tasks t JOIN deployment_jobs j ON j.id = t.job_id
     WHERE t.id = ${taskId}::uuid`;
  return rows[0] ?? null;
}

export interface StickerWrite {
  task: TaskRow & { deploymentObjectId: string };
  content: unknown;
  contentHash: string;
  writtenAt: Date;
}

/** One sticker per task: a repeated report (an agent restarting) replaces what the sticker says. */
export async function upsertSticker(db: Db, w: StickerWrite): Promise<string> {
  const rows = await db.$queryRaw<{ id: string }[]>`
    INSERT INTO version_stickers (agent_id, environment_id, release_id, promotion_id, task_id, deployment_object_id,
                                  sticker_content, content_hash, written_at)
    VALUES (${w.task.agentId}::uuid, ${w.task.environmentId}::uuid, ${w.task.releaseId}::uuid, ${w.task.promotionId}::uuid,
            ${w.task.id}::uuid, ${w.task.deploymentObjectId}::uuid, ${JSON.stringify(w.content)}::jsonb, ${w.contentHash},
            ${w.writtenAt})
    ON CONFLICT (task_id) DO UPDATE
       SET sticker_content = EXCLUDED.sticker_content, content_hash = EXCLUDED.content_hash, written_at = EXCLUDED.written_at
    RETURNING id::text`;
  const id = rows[0]?.id;
  if (!id) throw new Error("upserting a version sticker returned no row");
  return id;
}

/** The drift state of a task's sticker, locked until the transaction ends (reports of one task serialise). */
export async function lockStickerOfTask(
  db: Db,
  taskId: string,
): Promise<{ id: string; driftDetected: boolean; driftDetails: DriftItemRow[] } | null> {
  const rows = await db.$queryRaw<{ id: string; driftDetected: boolean; driftDetails: DriftItemRow[] }[]>`
    SELECT id::text, drift_detected AS "driftDetected", drift_details AS "driftDetails"
      FROM version_stickers WHERE task_id = ${taskId}::uuid FOR UPDATE`;
  return rows[0] ?? null;
}

export async function updateDrift(
  db: Db,
  id: string,
  drift: { detected: boolean; details: DriftItemRow[]; healed: boolean },
): Promise<void> {
  await db.$executeRaw`
    UPDATE version_stickers
       SET drift_detected = ${drift.detected}, drift_details = ${JSON.stringify(drift.details)}::jsonb,
           drift_checked_at = now(), healed_at = CASE WHEN ${drift.healed} THEN now() ELSE healed_at END
     WHERE id = ${id}::uuid`;
}

const STICKER_COLUMNS = Prisma.sql`
  s.id::text, s.agent_id::text AS "agentId", s.environment_id::text AS "environmentId", s.release_id::text AS "releaseId",
  s.promotion_id::text AS "promotionId", s.task_id::text AS "taskId", s.deployment_object_id::text AS "deploymentObjectId",
  s.sticker_content AS content, s.content_hash AS "contentHash", s.written_at AS "writtenAt",
  s.drift_detected AS "driftDetected", s.drift_details AS "driftDetails", s.drift_checked_at AS "driftCheckedAt",
  s.healed_at AS "healedAt",
  jsonb_build_object('id', e.id, 'name', e.name, 'displayName', e.display_name, 'orderIndex', e.order_index,
                     'driftPolicy', e.drift_policy) AS environment,
  jsonb_build_object('id', r.id, 'name', r.name, 'displayName', r.display_name, 'status', r.status) AS release,
  jsonb_build_object('id', p.id, 'status', p.status) AS promotion`;

const STICKER_JOINS = Prisma.sql`
  JOIN environments e ON e.id = s.environment_id JOIN releases r ON r.id = s.release_id JOIN promotions p ON p.id = s.promotion_id`;

export async function findSticker(db: Db, id: string): Promise<StickerRow | null> {
  const rows = await db.$queryRaw<
    StickerRow[]
  >`SELECT ${STICKER_COLUMNS} FROM version_stickers s ${STICKER_JOINS} WHERE s.id = ${id}::uuid`;
  return rows[0] ?? null;
}

export interface StickerFilter {
  agentIds?: readonly string[];
  environmentId?: string;
  driftDetected?: boolean;
  /** The id of the last sticker of the previous page. */
  afterId?: string;
  limit: number;
}

/**
 * The current sticker of each (agent, environment): its newest row (index
 * version_stickers_agent_env_idx), newest first, filtered and paged.
 */
export async function currentStickers(db: Db, f: StickerFilter): Promise<StickerRow[]> {
  const where: Prisma.Sql[] = [];
  if (f.agentIds) where.push(Prisma.sql`agent_id = ANY(${[...f.agentIds]}::uuid[])`);
  if (f.environmentId) where.push(Prisma.sql`environment_id = ${f.environmentId}::uuid`);
  const inner = where.length > 0 ? Prisma.sql`WHERE ${Prisma.join(where, " AND ")}` : Prisma.empty;
  const outer: Prisma.Sql[] = [];
  if (f.driftDetected !== undefined) outer.push(Prisma.sql`s.drift_detected = ${f.driftDetected}`);
  if (f.afterId)
    outer.push(Prisma.sql`(s.written_at, s.id) < (SELECT written_at, id FROM version_stickers WHERE id = ${f.afterId}::uuid)`);
  const filter = outer.length > 0 ? Prisma.sql`WHERE ${Prisma.join(outer, " AND ")}` : Prisma.empty;
  return db.$queryRaw<StickerRow[]>`
    WITH cur AS (
      SELECT DISTINCT ON (agent_id, environment_id) id FROM version_stickers ${inner}
       ORDER BY agent_id, environment_id, written_at DESC, id DESC)
    SELECT ${STICKER_COLUMNS} FROM cur JOIN version_stickers s ON s.id = cur.id ${STICKER_JOINS}
    ${filter}
    ORDER BY s.written_at DESC, s.id DESC
    LIMIT ${f.limit}`;
}
