import { Prisma } from "../generated/prisma/client.js";

const OWNERS = {
  agent: { labels: "agent_labels", annotations: "agent_annotations", key: "agent_id" },
  stack: { labels: "stack_labels", annotations: "stack_annotations", key: "stack_id" },
} as const;

function uniquePairs(list: readonly { key: string; value: string }[]): { keys: string[]; values: string[] } {
  const unique = [...new Map(list.map((a) => [JSON.stringify([a.key, a.value]), a])).values()];
  return { keys: unique.map((a) => a.key), values: unique.map((a) => a.value) };
}

/**
 * The one shape of "carries every one of these labels and annotations", for stacks and agents:
 * a grouped subquery per kind whatever the list's length (one EXISTS per label made PostgreSQL
 * plan for minutes at a few hundred; the lists are capped at MAX_LIST_ARGUMENT anyway).
 * `idColumn` is the filtered table's id, e.g. `s.id`.
 */
export function carriesAllTags(
  owner: keyof typeof OWNERS,
  idColumn: string,
  filter: { labels?: readonly string[]; annotations?: readonly { key: string; value: string }[] },
): Prisma.Sql {
  const o = OWNERS[owner];
  const [id, key, labelTable, annotationTable] = [
    Prisma.raw(idColumn),
    Prisma.raw(o.key),
    Prisma.raw(o.labels),
    Prisma.raw(o.annotations),
  ];
  const labels = [...new Set(filter.labels ?? [])];
  const pairs = uniquePairs(filter.annotations ?? []);
  return Prisma.sql`(${labels.length} = 0 OR ${id} IN (
             SELECT l.${key} FROM ${labelTable} l WHERE l.label = ANY(${labels}::text[])
              GROUP BY l.${key} HAVING count(*) = ${labels.length}))
       AND (${pairs.keys.length} = 0 OR ${id} IN (
             SELECT a.${key} FROM ${annotationTable} a
               JOIN unnest(${pairs.keys}::text[], ${pairs.values}::text[]) AS f(key, value) ON f.key = a.key AND f.value = a.value
              GROUP BY a.${key} HAVING count(*) = ${pairs.keys.length}))`;
}
