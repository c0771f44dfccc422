import { Prisma } from "../generated/prisma/client.js";
import { MAX_LIST_ARGUMENT } from "../validation.js";
import type { Db } from "./client.js";

/** The label and annotation tables, each keyed by its owner and a key column. */
const TABLES = {
  stack_labels: { owner: "stack_id", key: "label" },
  stack_annotations: { owner: "stack_id", key: "key" },
  agent_labels: { owner: "agent_id", key: "label" },
  agent_annotations: { owner: "agent_id", key: "key" },
  template_labels: { owner: "template_id", key: "label" },
  template_annotations: { owner: "template_id", key: "key" },
} as const;

/**
 * Adds (or, with a value, upserts) one label or annotation unless its owner already carries
 * MAX_LIST_ARGUMENT others: the lists are returned unpaginated and costed at that size, so they
 * must not grow past it one mutation at a time. False when the cap refused it. Concurrent adds
 * may pass the count together; the overshoot is bounded by the pool size.
 */
export async function insertCappedTag(
  db: Db,
  table: keyof typeof TABLES,
  ownerId: string,
  key: string,
  value?: string,
): Promise<boolean> {
  const t = TABLES[table];
  const [tbl, owner, col] = [Prisma.raw(table), Prisma.raw(t.owner), Prisma.raw(t.key)];
  const insert =
    value === undefined
      ? Prisma.sql`INSERT INTO ${tbl} (${owner}, ${col}) SELECT ${ownerId}::uuid, ${key} FROM allowed WHERE ok
        ON CONFLICT (${owner}, ${col}) DO NOTHING RETURNING 1`
      : Prisma.sql`INSERT INTO ${tbl} (${owner}, ${col}, value) SELECT ${ownerId}::uuid, ${key}, ${value} FROM allowed WHERE ok
        ON CONFLICT (${owner}, ${col}) DO UPDATE SET value = EXCLUDED.value RETURNING 1`;
  const rows = await db.$queryRaw<{ ok: boolean }[]>`
    WITH allowed AS (
      SELECT EXISTS (SELECT 1 FROM ${tbl} WHERE ${owner} = ${ownerId}::uuid AND ${col} = ${key})
          OR (SELECT count(*) FROM ${tbl} WHERE ${owner} = ${ownerId}::uuid) < ${MAX_LIST_ARGUMENT} AS ok
    ), inserted AS (${insert})
    SELECT ok FROM allowed`;
  return rows[0]?.ok === true;
}
