import { randomUUID } from "node:crypto";
import type { Database } from "../db/client.js";
import { Batcher } from "../db/batcher.js";
import { sqlState } from "../errors.js";
import { DEFER_NOTIFY } from "../delivery/commit-feed.js";
import { OBJECT_COLUMNS, insertObjectIntoLiveStack, toObjectRow, type DeploymentObjectRow } from "./store.js";

export interface NewObject {
  stackId: string;
  ownerGeneratorId: string | null;
  yamlContent: string;
  yamlChecksum: string;
  isDeletionMarker: boolean;
}

/** Objects per shared statement; their YAML is small (larger objects insert alone). */
const MAX_GROUP = 64;
/** Groups in flight at once: one commits while the next fills. */
const MAX_GROUPS_IN_FLIGHT = 4;

type Row = Parameters<typeof toObjectRow>[0];

/**
 * Group commit: concurrent inserts share one multi-row statement and one commit (on this disk a
 * commit's fsync, not the broker's CPU, bounded the write path). A caller's promise resolves
 * only once the transaction holding its row has committed. One transaction of two statements:
 * first the stacks are share-locked (in id order, so groups never deadlock with each other),
 * then the rows go in; so no row waits for a stack lock while the group holds the delivery lock
 * its first row took (migration 0001's horizon; 0005's trigger order keeps the same rule for a
 * single insert). Ids are drawn here so each caller finds its own row; a row whose stack is
 * missing, deleted or not the caller's is simply not inserted (null, as insertObjectIntoLiveStack).
 * When the group's transaction fails (a stack deleted meanwhile, a deadlock with a deletion),
 * nothing of it committed and each object is inserted alone, so each caller gets its own answer.
 */
async function insertGroup(db: Database, objects: NewObject[]): Promise<(DeploymentObjectRow | null)[]> {
  if (objects.length === 1) return [await insertObjectIntoLiveStack(db, objects[0] as NewObject)];
  const ids = objects.map(() => randomUUID());
  const stackIds = [...new Set(objects.map((o) => o.stackId))].sort();
  const col = <K extends keyof NewObject>(k: K) => objects.map((o) => o[k]);
  try {
    const [, rows] = await db.$transaction([
      db.$queryRaw`SELECT id FROM stacks WHERE id = ANY(${stackIds}::uuid[]) AND deleted_at IS NULL ORDER BY id FOR SHARE`,
      db.$queryRaw<Row[]>`
        INSERT INTO deployment_objects AS d (id, stack_id, generator_id, yaml_content, yaml_checksum, is_deletion_marker)
        SELECT i.id, s.id, s.generator_id, i.yaml, i.checksum, i.marker
          FROM unnest(${ids}::uuid[], ${col("stackId")}::uuid[], ${col("ownerGeneratorId")}::uuid[], ${col("yamlContent")}::text[],
                      ${col("yamlChecksum")}::text[], ${col("isDeletionMarker")}::bool[])
                 WITH ORDINALITY AS i(id, stack_id, owner, yaml, checksum, marker, ord)
          JOIN stacks s ON s.id = i.stack_id, ${DEFER_NOTIFY} AS deferred
         WHERE s.deleted_at IS NULL AND (i.owner IS NULL OR s.generator_id = i.owner)
         ORDER BY i.ord
        RETURNING ${OBJECT_COLUMNS}`,
    ]);
    const byId = new Map(rows.map((r) => [r.id, toObjectRow(r)]));
    return ids.map((id) => byId.get(id) ?? null);
  } catch (err) {
    // Only errors a statement raised (integrity, data, rollback classes) surely rolled the group
    // back; after a lost connection or a failed commit its outcome is unknown: never insert twice.
    if (!/^(22|23|40)/.test(sqlState(err) ?? "")) throw err;
    return Promise.all(objects.map((o) => insertObjectIntoLiveStack(db, o)));
  }
}

const groups = new WeakMap<Database, Batcher<NewObject, DeploymentObjectRow | null>>();

/** Inserts one object into a live stack, sharing the statement and commit with concurrent inserts. */
export function insertObjectGrouped(db: Database, object: NewObject): Promise<DeploymentObjectRow | null> {
  let group = groups.get(db);
  if (!group) {
    group = new Batcher((objects) => insertGroup(db, objects), { maxBatch: MAX_GROUP, maxConcurrent: MAX_GROUPS_IN_FLIGHT });
    groups.set(db, group);
  }
  return group.load(object);
}
