import type { Db } from "../db/client.js";
import { Prisma } from "../generated/prisma/client.js";

export interface ComponentRow {
  id: string;
  name: string;
  displayName: string;
  imageRepository: string;
  defaultChannel: string;
  createdAt: Date;
}

export interface ComponentVersionRow {
  id: string;
  componentId: string;
  tag: string;
  digest: string;
  semver: string;
  channel: string;
  createdAt: Date;
  /** created_at in epoch microseconds (the keyset cursor; a Date drops PostgreSQL's microseconds). */
  createdUs: string;
}

const COMPONENT = Prisma.raw(`c.id, c.name, c.display_name AS "displayName", c.image_repository AS "imageRepository",
  c.default_channel AS "defaultChannel", c.created_at AS "createdAt"`);
const VERSION = Prisma.raw(`v.id, v.component_id AS "componentId", v.tag, v.digest, v.semver, v.channel,
  v.created_at AS "createdAt", (extract(epoch FROM v.created_at) * 1e6)::bigint::text AS "createdUs"`);

/** The new component, or null when a live one has the name. */
export async function insertComponent(db: Db, c: Omit<ComponentRow, "id" | "createdAt">): Promise<ComponentRow | null> {
  const rows = await db.$queryRaw<ComponentRow[]>`
    WITH c AS (
      INSERT INTO components (name, display_name, image_repository, default_channel)
      VALUES (${c.name}, ${c.displayName}, ${c.imageRepository}, ${c.defaultChannel})
      ON CONFLICT DO NOTHING RETURNING *)
    SELECT ${COMPONENT} FROM c`;
  return rows[0] ?? null;
}

export async function findComponent(db: Db, id: string): Promise<ComponentRow | null> {
  const rows = await db.$queryRaw<ComponentRow[]>`
    SELECT ${COMPONENT} FROM components c WHERE c.id = ${id}::uuid AND c.deleted_at IS NULL`;
  return rows[0] ?? null;
}

export function findComponentsByIds(db: Db, ids: readonly string[]): Promise<ComponentRow[]> {
  return db.$queryRaw<ComponentRow[]>`SELECT ${COMPONENT} FROM components c WHERE c.id = ANY(${[...ids]}::uuid[])`;
}

/** Live components by (name, id) after `after`, one more than `limit` asks. */
export function listComponents(db: Db, limit: number, after: [string, string] | null) {
  return db.$queryRaw<ComponentRow[]>`
    SELECT ${COMPONENT} FROM components c
     WHERE c.deleted_at IS NULL
       AND (${after?.[0] ?? null}::text IS NULL OR (c.name, c.id) > (${after?.[0] ?? null}::text, ${after?.[1] ?? null}::uuid))
     ORDER BY c.name, c.id LIMIT ${limit + 1}`;
}

export type VersionWrite = Omit<ComponentVersionRow, "id" | "createdAt" | "createdUs"> & { generatorId: string | null };

/** The new version, or null when its tag, digest or semver is registered for the component. */
export async function insertVersion(db: Db, v: VersionWrite): Promise<ComponentVersionRow | null> {
  const rows = await db.$queryRaw<ComponentVersionRow[]>`
    WITH v AS (
      INSERT INTO component_versions (component_id, tag, digest, semver, channel, registered_by_generator_id)
      VALUES (${v.componentId}::uuid, ${v.tag}, ${v.digest}, ${v.semver}, ${v.channel}, ${v.generatorId}::uuid)
      ON CONFLICT DO NOTHING RETURNING *)
    SELECT ${VERSION} FROM v`;
  return rows[0] ?? null;
}

/** The component's versions sharing the tag, digest or semver (at most three rows). */
export function versionsSharing(db: Db, componentId: string, v: { tag: string; digest: string; semver: string }) {
  return db.$queryRaw<ComponentVersionRow[]>`
    SELECT ${VERSION} FROM component_versions v
     WHERE v.component_id = ${componentId}::uuid AND (v.tag = ${v.tag} OR v.digest = ${v.digest} OR v.semver = ${v.semver})`;
}

export type VersionKey = "id" | "tag" | "digest" | "semver";

/** One version of the component by one of its keys. */
export async function findVersionBy(db: Db, componentId: string, key: VersionKey, value: string) {
  const column = Prisma.raw(key === "id" ? "v.id::text" : `v.${key}`);
  const rows = await db.$queryRaw<ComponentVersionRow[]>`
    SELECT ${VERSION} FROM component_versions v WHERE v.component_id = ${componentId}::uuid AND ${column} = ${value}`;
  return rows[0] ?? null;
}

export function findVersionsByIds(db: Db, ids: readonly string[]): Promise<ComponentVersionRow[]> {
  return db.$queryRaw<ComponentVersionRow[]>`SELECT ${VERSION} FROM component_versions v WHERE v.id = ANY(${[...ids]}::uuid[])`;
}

/** One component's versions, newest first, after the (createdUs, id) cursor. */
export function listVersions(db: Db, componentId: string, limit: number, after: [string, string] | null) {
  return db.$queryRaw<ComponentVersionRow[]>`
    SELECT ${VERSION} FROM component_versions v
     WHERE v.component_id = ${componentId}::uuid
       AND (${after?.[0] ?? null}::bigint IS NULL OR (v.created_at, v.id) <
            (timestamptz 'epoch' + ${after?.[0] ?? null}::bigint * interval '1 microsecond', ${after?.[1] ?? null}::uuid))
     ORDER BY v.created_at DESC, v.id DESC LIMIT ${limit + 1}`;
}
