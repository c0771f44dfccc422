import { Prisma } from "../generated/prisma/client.js";
import { MAX_LIST_ARGUMENT } from "../validation.js";
import type { Db } from "./client.js";

/** The link tables behind unpaginated GraphQL lists, each keyed by the parent it is listed under. */
const LINKS = {
  agent_targets_by_stack: { table: "agent_targets", parent: "stack_id", live: "agents", liveKey: "agent_id" },
  // An agent's targets include soft-deleted stacks (their deletion markers still reach it).
  agent_targets_by_agent: { table: "agent_targets", parent: "agent_id", live: null, liveKey: "stack_id" },
  registrations_by_agent: {
    table: "agent_generator_registrations",
    parent: "agent_id",
    live: "generators",
    liveKey: "generator_id",
  },
} as const;

/**
 * Ids of the oldest `limit` live links of each parent, in one statement: the lists these feed
 * (Stack.targetedAgents, Agent.targets, Agent.registeredGenerators) are unpaginated and costed at
 * MAX_LIST_ARGUMENT, so a request never loads more than that per parent, however many exist
 * (Stack.reachedAgents pages through all of a stack's agents).
 */
export async function firstLinksPerParent(
  db: Db,
  link: keyof typeof LINKS,
  parentIds: readonly string[],
  limit = MAX_LIST_ARGUMENT,
) {
  if (parentIds.length === 0) return [];
  const l = LINKS[link];
  const [table, parent] = [Prisma.raw(l.table), Prisma.raw(l.parent)];
  const liveOnly = l.live
    ? Prisma.sql`AND EXISTS (SELECT 1 FROM ${Prisma.raw(l.live)} o WHERE o.id = t.${Prisma.raw(l.liveKey)} AND o.deleted_at IS NULL)`
    : Prisma.empty;
  const rows = await db.$queryRaw<{ id: string }[]>`
    SELECT id FROM (
      SELECT t.id, row_number() OVER (PARTITION BY t.${parent} ORDER BY t.created_at, t.id) AS n
        FROM ${table} t
       WHERE t.${parent} = ANY(${[...parentIds]}::uuid[]) ${liveOnly}
    ) ranked WHERE n <= ${limit}`;
  return rows.map((r) => r.id);
}
