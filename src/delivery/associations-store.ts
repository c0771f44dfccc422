import { Prisma } from "../generated/prisma/client.js";
import type { Db } from "../db/client.js";
import { OBJECT_COLUMNS, toObjectRow } from "../deployment-objects/store.js";

/**
 * The stacks that reach an agent: explicit targets, plus stacks sharing a label or an
 * annotation (key and value) with it, counting those only for generators the agent is
 * registered with. Soft-deleted stacks stay associated so that their deletion marker reaches
 * agents that were offline; hard-deleted ones are gone.
 */
const associatedStacksSql = (agentId: string) => Prisma.sql`
  SELECT t.stack_id FROM agent_targets t WHERE t.agent_id = ${agentId}::uuid
  UNION
  SELECT sl.stack_id
    FROM agent_labels al
    JOIN stack_labels sl ON sl.label = al.label
    JOIN stacks s ON s.id = sl.stack_id
    JOIN agent_generator_registrations r ON r.agent_id = al.agent_id AND r.generator_id = s.generator_id
   WHERE al.agent_id = ${agentId}::uuid
  UNION
  SELECT sa.stack_id
    FROM agent_annotations aa
    JOIN stack_annotations sa ON sa.key = aa.key AND sa.value = aa.value
    JOIN stacks s ON s.id = sa.stack_id
    JOIN agent_generator_registrations r ON r.agent_id = aa.agent_id AND r.generator_id = s.generator_id
   WHERE aa.agent_id = ${agentId}::uuid`;

export async function associatedStackIds(db: Db, agentId: string): Promise<string[]> {
  const rows = await db.$queryRaw<{ stack_id: string }[]>`${associatedStacksSql(agentId)}`;
  return rows.map((r) => r.stack_id);
}

export async function isStackAssociated(db: Db, agentId: string, stackId: string): Promise<boolean> {
  const rows = await db.$queryRaw<{ ok: number }[]>`
    SELECT 1 AS ok FROM (${associatedStacksSql(agentId)}) a WHERE a.stack_id = ${stackId}::uuid LIMIT 1`;
  return rows.length > 0;
}

/**
 * The agent's target state: the latest live object of each associated stack (a deleted stack's
 * latest is its deletion marker), in sequence order. `unreportedOnly` omits objects the agent
 * has already reported an event for (REST `mode=incremental`).
 */
export async function targetStateObjects(db: Db, agentId: string, unreportedOnly = false) {
  const rows = await db.$queryRaw<Parameters<typeof toObjectRow>[0][]>`
    SELECT * FROM (
      SELECT DISTINCT ON (d.stack_id) ${OBJECT_COLUMNS}
        FROM deployment_objects d
        JOIN (${associatedStacksSql(agentId)}) a ON a.stack_id = d.stack_id
       WHERE d.deleted_at IS NULL
       ORDER BY d.stack_id, d.sequence_id DESC
    ) d
    WHERE NOT ${unreportedOnly} OR NOT EXISTS (
      SELECT 1 FROM agent_events e WHERE e.deployment_object_id = d.id AND e.agent_id = ${agentId}::uuid AND e.deleted_at IS NULL)
    ORDER BY d.sequence_id`;
  return rows.map(toObjectRow);
}
