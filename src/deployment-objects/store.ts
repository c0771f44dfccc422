import { Prisma, type DeploymentObject } from "../generated/prisma/client.js";
import { queryRows, type Db } from "../db/client.js";
import { DEFER_NOTIFY } from "../delivery/commit-feed.js";

export type DeploymentObjectRow = DeploymentObject;

interface RawObject {
  id: string;
  sequence_id: bigint | string;
  stack_id: string;
  generator_id: string;
  yaml_content: string;
  yaml_checksum: string;
  submitted_at: Date | string;
  is_deletion_marker: boolean;
  created_at: Date | string;
  updated_at: Date | string;
  deleted_at: Date | string | null;
}

export const OBJECT_COLUMNS = Prisma.raw(
  "d.id, d.sequence_id, d.stack_id, d.generator_id, d.yaml_content, d.yaml_checksum, d.submitted_at, d.is_deletion_marker, d.created_at, d.updated_at, d.deleted_at",
);

const date = (v: Date | string) => (v instanceof Date ? v : new Date(v));

/** Maps a raw `deployment_objects` row (Prisma raw query or plain pg) to the Prisma model shape. */
export function toObjectRow(r: RawObject): DeploymentObjectRow {
  return {
    id: r.id,
    sequenceId: BigInt(r.sequence_id),
    stackId: r.stack_id,
    generatorId: r.generator_id,
    yamlContent: r.yaml_content,
    yamlChecksum: r.yaml_checksum,
    submittedAt: date(r.submitted_at),
    isDeletionMarker: r.is_deletion_marker,
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
    deletedAt: r.deleted_at === null ? null : date(r.deleted_at),
  };
}

/**
 * Inserts an object into a live stack, in one statement (its own transaction): the delivery
 * lock an insert holds lasts from its sequence_id to its commit, so it must be short. Returns
 * null when the stack is missing, deleted, or not the given generator's. Notification is
 * deferred: the caller wakes delivery through its CommitHook (delivery/commit-feed.ts).
 */
export async function insertObjectIntoLiveStack(
  db: Db,
  data: {
    stackId: string;
    ownerGeneratorId: string | null;
    yamlContent: string;
    yamlChecksum: string;
    isDeletionMarker?: boolean;
  },
): Promise<DeploymentObjectRow | null> {
  const rows = await db.$queryRaw<RawObject[]>`
    INSERT INTO deployment_objects AS d (stack_id, generator_id, yaml_content, yaml_checksum, is_deletion_marker)
    SELECT s.id, s.generator_id, ${data.yamlContent}, ${data.yamlChecksum}, ${data.isDeletionMarker ?? false}
      FROM stacks s, ${DEFER_NOTIFY} AS deferred
     WHERE s.id = ${data.stackId}::uuid AND s.deleted_at IS NULL
       AND (${data.ownerGeneratorId}::uuid IS NULL OR s.generator_id = ${data.ownerGeneratorId}::uuid)
    RETURNING ${OBJECT_COLUMNS}`;
  return rows[0] ? toObjectRow(rows[0]) : null;
}

export interface ObjectToInsert {
  id: string;
  stackId: string;
  /** The generator the stack must belong to; null for an admin. */
  ownerGeneratorId: string | null;
  yamlContent: string;
  yamlChecksum: string;
  isDeletionMarker: boolean;
}

/**
 * Inserts many objects in one statement (one round trip, and one commit when `db` is not a
 * transaction), in the given order, each into its stack only if that stack is live and, for a
 * generator, its own; returns the rows inserted (callers find theirs by id). The stacks are
 * share-locked in id order by the `locked` CTE, which the WHERE clause reads through an
 * uncorrelated subquery (an InitPlan): PostgreSQL evaluates it, locking every stack, before the
 * statement produces its first row, so before the first row's trigger takes the delivery lock
 * (migration 0001) no stack lock is still to be waited for (0005's order, kept for many rows).
 * Groups lock in one order, so they never deadlock with each other.
 */
export async function insertObjectsIntoLiveStacks(db: Db, objects: readonly ObjectToInsert[]): Promise<DeploymentObjectRow[]> {
  const col = <K extends keyof ObjectToInsert>(k: K) => objects.map((o) => o[k]);
  const stackIds = [...new Set(col("stackId"))].sort();
  const rows = await queryRows<Omit<RawObject, "yaml_content">>(
    db,
    `WITH locked AS MATERIALIZED (
       SELECT id FROM stacks WHERE id = ANY($7::uuid[]) AND deleted_at IS NULL ORDER BY id FOR SHARE)
     INSERT INTO deployment_objects AS d (id, stack_id, generator_id, yaml_content, yaml_checksum, is_deletion_marker)
     SELECT i.id, s.id, s.generator_id, i.yaml, i.checksum, i.marker
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::bool[])
              WITH ORDINALITY AS i(id, stack_id, owner, yaml, checksum, marker, ord)
       JOIN stacks s ON s.id = i.stack_id, ${DEFER_NOTIFY.sql} AS deferred
      WHERE s.id = ANY((SELECT array_agg(id) FROM locked)::uuid[]) AND (i.owner IS NULL OR s.generator_id = i.owner)
      ORDER BY i.ord
     RETURNING ${RETURNED_WITHOUT_YAML}`,
    [
      col("id"),
      col("stackId"),
      col("ownerGeneratorId"),
      col("yamlContent"),
      col("yamlChecksum"),
      col("isDeletionMarker"),
      stackIds,
    ],
  );
  const yamlOf = new Map(objects.map((o) => [o.id, o.yamlContent]));
  return rows.map((r) => toObjectRow({ ...r, yaml_content: yamlOf.get(r.id) ?? "" }));
}

/**
 * The inserted rows come back without their YAML, which the caller sent: under 16 writers,
 * reading 2 KB back per row cost the broker about a tenth of its pg driver time.
 */
const RETURNED_WITHOUT_YAML = OBJECT_COLUMNS.sql.replace("d.yaml_content, ", "");

export function findObject(db: Db, id: string) {
  return db.deploymentObject.findUnique({ where: { id } });
}

export function findObjectsByIds(db: Db, ids: readonly string[]) {
  return db.deploymentObject.findMany({ where: { id: { in: [...ids] } } });
}

/** The deletion marker a soft delete of the stack just appended (the newest one). */
export function latestDeletionMarker(db: Db, stackId: string) {
  return db.deploymentObject.findFirst({ where: { stackId, isDeletionMarker: true }, orderBy: { sequenceId: "desc" } });
}

/** Objects of one stack in sequence order, soft-deleted ones included (they are history). */
export function listObjectsOfStack(db: Db, stackId: string, afterSequence: bigint | undefined, take: number) {
  return db.deploymentObject.findMany({
    where: { stackId, ...(afterSequence !== undefined ? { sequenceId: { gt: afterSequence } } : {}) },
    orderBy: { sequenceId: "asc" },
    take,
  });
}

/** The newest live object of each stack, in one statement. */
export async function latestObjectsOfStacks(db: Db, stackIds: readonly string[]) {
  if (stackIds.length === 0) return [];
  const rows = await db.$queryRaw<RawObject[]>`
    SELECT DISTINCT ON (d.stack_id) ${OBJECT_COLUMNS}
      FROM deployment_objects d
     WHERE d.stack_id = ANY(${[...stackIds]}::uuid[]) AND d.deleted_at IS NULL
     ORDER BY d.stack_id, d.sequence_id DESC`;
  return rows.map(toObjectRow);
}
