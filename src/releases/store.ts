import type { Db } from "../db/client.js";
import { Prisma } from "../generated/prisma/client.js";

export type ReleaseStatus = "DRAFT" | "READY" | "DEPLOYED" | "DEPRECATED";

export interface ReleaseRow {
  id: string;
  name: string;
  displayName: string;
  status: ReleaseStatus;
  templateId: string;
  parameters: Record<string, unknown>;
  sourceRef: unknown;
  createdByUserId: string | null;
  createdByGeneratorId: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** created_at in epoch microseconds, for the keyset cursor. */
  createdUs: string;
}

export interface ReleaseComponentLink {
  releaseId: string;
  componentId: string;
  versionId: string;
}

const RELEASE = Prisma.raw(`r.id, r.name, r.display_name AS "displayName", r.status, r.template_id AS "templateId",
  r.parameters, r.source_ref AS "sourceRef", r.created_by_user_id AS "createdByUserId",
  r.created_by_generator_id AS "createdByGeneratorId", r.created_at AS "createdAt", r.updated_at AS "updatedAt",
  (extract(epoch FROM r.created_at) * 1e6)::bigint::text AS "createdUs"`);

export type ReleaseWrite = Pick<
  ReleaseRow,
  "name" | "displayName" | "templateId" | "parameters" | "sourceRef" | "createdByUserId" | "createdByGeneratorId"
>;

/** A new DRAFT, or null when the name is taken. */
export async function insertRelease(db: Db, r: ReleaseWrite): Promise<ReleaseRow | null> {
  const rows = await db.$queryRaw<ReleaseRow[]>`
    WITH r AS (
      INSERT INTO releases (name, display_name, template_id, parameters, source_ref, created_by_user_id, created_by_generator_id)
      VALUES (${r.name}, ${r.displayName}, ${r.templateId}::uuid, ${JSON.stringify(r.parameters)}::jsonb,
              ${r.sourceRef === null ? null : JSON.stringify(r.sourceRef)}::jsonb,
              ${r.createdByUserId}::uuid, ${r.createdByGeneratorId}::uuid)
      ON CONFLICT (name) DO NOTHING RETURNING *)
    SELECT ${RELEASE} FROM r`;
  return rows[0] ?? null;
}

/** Adds components to a release (the frozen-components trigger refuses it past DRAFT). */
export async function insertReleaseComponents(db: Db, releaseId: string, links: Omit<ReleaseComponentLink, "releaseId">[]) {
  await db.$executeRaw`
    INSERT INTO release_components (release_id, component_id, component_version_id)
    SELECT ${releaseId}::uuid, c, v FROM unnest(${links.map((l) => l.componentId)}::uuid[], ${links.map((l) => l.versionId)}::uuid[]) AS x(c, v)`;
}

export async function deleteReleaseComponents(db: Db, releaseId: string) {
  await db.$executeRaw`DELETE FROM release_components WHERE release_id = ${releaseId}::uuid`;
}

/** Whether `err` is the refusal of brokkr_release_components_frozen (migration 0019). */
export function isFrozenComponentsError(err: unknown): boolean {
  const e = err as { message?: string; meta?: { driverAdapterError?: { cause?: { originalMessage?: string } } } };
  const message = e?.meta?.driverAdapterError?.cause?.originalMessage ?? e?.message ?? "";
  return message.includes("no longer a draft");
}

export type DraftFields = Pick<ReleaseRow, "displayName" | "templateId" | "parameters" | "sourceRef">;

/** Sets a DRAFT release's fields; null when it is not (or no longer) a draft. */
export async function updateDraft(db: Db, id: string, f: DraftFields): Promise<ReleaseRow | null> {
  const rows = await db.$queryRaw<ReleaseRow[]>`
    WITH r AS (
      UPDATE releases SET display_name = ${f.displayName}, template_id = ${f.templateId}::uuid,
             parameters = ${JSON.stringify(f.parameters)}::jsonb,
             source_ref = ${f.sourceRef === null ? null : JSON.stringify(f.sourceRef)}::jsonb
       WHERE id = ${id}::uuid AND status = 'DRAFT' RETURNING *)
    SELECT ${RELEASE} FROM r`;
  return rows[0] ?? null;
}

/** Moves the release from `from` to `to`; null when it is no longer in `from` (a racing change). */
export async function updateStatus(db: Db, id: string, from: ReleaseStatus, to: ReleaseStatus): Promise<ReleaseRow | null> {
  const rows = await db.$queryRaw<ReleaseRow[]>`
    WITH r AS (UPDATE releases SET status = ${to} WHERE id = ${id}::uuid AND status = ${from} RETURNING *)
    SELECT ${RELEASE} FROM r`;
  return rows[0] ?? null;
}

export async function findRelease(db: Db, id: string): Promise<ReleaseRow | null> {
  const rows = await db.$queryRaw<ReleaseRow[]>`SELECT ${RELEASE} FROM releases r WHERE r.id = ${id}::uuid`;
  return rows[0] ?? null;
}

export function findReleasesByIds(db: Db, ids: readonly string[]): Promise<ReleaseRow[]> {
  return db.$queryRaw<ReleaseRow[]>`SELECT ${RELEASE} FROM releases r WHERE r.id = ANY(${[...ids]}::uuid[])`;
}

/** Newest first, after the (createdUs, id) cursor, one more than `limit`. */
export function listReleases(db: Db, status: ReleaseStatus | null, limit: number, after: [string, string] | null) {
  return db.$queryRaw<ReleaseRow[]>`
    SELECT ${RELEASE} FROM releases r
     WHERE (${status}::text IS NULL OR r.status = ${status}::text)
       AND (${after?.[0] ?? null}::bigint IS NULL OR (r.created_at, r.id) <
            (timestamptz 'epoch' + ${after?.[0] ?? null}::bigint * interval '1 microsecond', ${after?.[1] ?? null}::uuid))
     ORDER BY r.created_at DESC, r.id DESC LIMIT ${limit + 1}`;
}

/** Each release's components, by component name. */
export function componentsOfReleases(db: Db, releaseIds: readonly string[]): Promise<ReleaseComponentLink[]> {
  return db.$queryRaw<ReleaseComponentLink[]>`
    SELECT rc.release_id::text AS "releaseId", rc.component_id::text AS "componentId",
           rc.component_version_id::text AS "versionId"
      FROM release_components rc JOIN components c ON c.id = rc.component_id
     WHERE rc.release_id = ANY(${[...releaseIds]}::uuid[])
     ORDER BY rc.release_id, c.name`;
}

/**
 * The one definition of "the release current in an environment": the release of its newest
 * DEPLOYED promotion (a rolled-back one is ROLLED_BACK, so the one before counts again).
 */
const CURRENT = Prisma.sql`
  SELECT DISTINCT ON (p.target_environment_id) p.target_environment_id AS env, p.release_id AS rel
    FROM promotions p WHERE p.status = 'DEPLOYED'
   ORDER BY p.target_environment_id, p.completed_at DESC NULLS LAST, p.requested_at DESC, p.id DESC`;

export function currentReleaseOfEnvironments(db: Db, environmentIds: readonly string[]) {
  return db.$queryRaw<{ environmentId: string; releaseId: string }[]>`
    SELECT c.env::text AS "environmentId", c.rel::text AS "releaseId"
      FROM (${CURRENT}) c WHERE c.env = ANY(${[...environmentIds]}::uuid[])`;
}

/** Live environments whose current release is one of these, by order index. */
export function environmentsCurrentlyOn(db: Db, releaseIds: readonly string[]) {
  return db.$queryRaw<{ releaseId: string; environmentId: string }[]>`
    SELECT c.rel::text AS "releaseId", c.env::text AS "environmentId"
      FROM (${CURRENT}) c JOIN environments e ON e.id = c.env AND e.deleted_at IS NULL
     WHERE c.rel = ANY(${[...releaseIds]}::uuid[])
     ORDER BY e.order_index`;
}
