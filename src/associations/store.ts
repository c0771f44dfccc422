import { queryRows, type Db } from "../db/client.js";
import { OBJECT_COLUMNS, toObjectRow } from "../deployment-objects/store.js";

// Which stacks reach an agent is defined once, by the view agent_stack_associations
// (migrations 0004, 0005); every query of it lives here.

export async function associatedStackIds(db: Db, agentId: string): Promise<string[]> {
  const rows = await db.$queryRaw<{ stack_id: string }[]>`
    SELECT stack_id FROM agent_stack_associations WHERE agent_id = ${agentId}::uuid`;
  return rows.map((r) => r.stack_id);
}

export async function isStackAssociated(db: Db, agentId: string, stackId: string): Promise<boolean> {
  const rows = await db.$queryRaw<{ ok: number }[]>`
    SELECT 1 AS ok FROM agent_stack_associations
     WHERE agent_id = ${agentId}::uuid AND stack_id = ${stackId}::uuid LIMIT 1`;
  return rows.length > 0;
}

/**
 * (agent, stack) association pairs for many agents in one statement. This and agentStatuses run
 * by plain pg (queryRows): a reconnect storm reads them for thousands of agents at once.
 */
export async function associationsOfAgents(db: Db, agentIds: string[]): Promise<{ agent_id: string; stack_id: string }[]> {
  if (agentIds.length === 0) return [];
  return queryRows(db, "SELECT agent_id, stack_id FROM agent_stack_associations WHERE agent_id = ANY($1::uuid[])", [agentIds]);
}

/** Which of `agentIds` the stack reaches now. */
export async function agentsOfStack(db: Db, stackId: string, agentIds: string[]): Promise<string[]> {
  if (agentIds.length === 0) return [];
  const rows = await db.$queryRaw<{ agent_id: string }[]>`
    SELECT agent_id FROM agent_stack_associations
     WHERE stack_id = ${stackId}::uuid AND agent_id = ANY(${agentIds}::uuid[])`;
  return rows.map((r) => r.agent_id);
}

/** Status and deletion of many agents (for `agentReceives`). */
export function agentStatuses(db: Db, agentIds: string[]) {
  return queryRows<{ id: string; status: string; deletedAt: Date | null }>(
    db,
    `SELECT id, status, deleted_at AS "deletedAt" FROM agents WHERE id = ANY($1::uuid[])`,
    [agentIds],
  );
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
        JOIN agent_stack_associations a ON a.stack_id = d.stack_id AND a.agent_id = ${agentId}::uuid
       WHERE d.deleted_at IS NULL
       ORDER BY d.stack_id, d.sequence_id DESC
    ) d
    WHERE NOT ${unreportedOnly} OR NOT EXISTS (
      SELECT 1 FROM agent_events e WHERE e.deployment_object_id = d.id AND e.agent_id = ${agentId}::uuid AND e.deleted_at IS NULL)
    ORDER BY d.sequence_id`;
  return rows.map(toObjectRow);
}

export type ReachReasonValue = "EXPLICIT" | "LABEL" | "ANNOTATION";

/**
 * The live agents a stack reaches, with every reason, after `afterAgentId` in id order, and the
 * newest event each reported for an object of the stack: one statement per page.
 */
export async function reachedAgentsOfStack(db: Db, stackId: string, afterAgentId: string | null, limit: number) {
  return db.$queryRaw<{ agent_id: string; reasons: ReachReasonValue[]; last_event_id: string | null }[]>`
    SELECT r.agent_id, array_agg(DISTINCT r.reason ORDER BY r.reason) AS reasons, last.id AS last_event_id
      FROM agent_stack_association_reasons r
      JOIN agents a ON a.id = r.agent_id AND a.deleted_at IS NULL
      LEFT JOIN LATERAL (
        SELECT e.id FROM agent_events e JOIN deployment_objects d ON d.id = e.deployment_object_id
         WHERE e.agent_id = r.agent_id AND d.stack_id = ${stackId}::uuid AND e.deleted_at IS NULL
         ORDER BY e.created_at DESC, e.id DESC LIMIT 1) last ON true
     WHERE r.stack_id = ${stackId}::uuid AND (${afterAgentId}::uuid IS NULL OR r.agent_id > ${afterAgentId}::uuid)
     GROUP BY r.agent_id, last.id
     ORDER BY r.agent_id
     LIMIT ${limit}`;
}

export function eventsByIds(db: Db, ids: string[]) {
  return ids.length === 0 ? Promise.resolve([]) : db.agentEvent.findMany({ where: { id: { in: ids } } });
}
