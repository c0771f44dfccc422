import type { Db } from "../db/client.js";
import type { DeploymentHealth } from "../generated/prisma/client.js";

export interface HealthEntry {
  deploymentObjectId: string;
  status: string;
  summary: string | null;
  checkedAt: Date;
}

/**
 * Upserts a whole health report in one statement, and only if every entry names an object of
 * a stack that reaches the agent (the view agent_stack_associations): otherwise nothing is
 * written and the position of the first refused entry is returned. Entries must not repeat an
 * object (ON CONFLICT may touch a row once per statement). One statement replaced one upsert
 * per entry, which took 20 s for 10,000 entries and failed inside the transaction timeout.
 */
export async function upsertHealthReport(db: Db, agentId: string, entries: readonly HealthEntry[]): Promise<number | null> {
  const rows = await db.$queryRaw<{ refused: bigint | number | null }[]>`
    WITH report AS (
      SELECT * FROM unnest(${entries.map((e) => e.deploymentObjectId)}::uuid[], ${entries.map((e) => e.status)}::text[],
                           ${entries.map((e) => e.summary)}::text[], ${entries.map((e) => e.checkedAt)}::timestamptz[])
               WITH ORDINALITY AS r(object_id, status, summary, checked_at, ord)
    ), allowed AS (
      SELECT r.* FROM report r
        JOIN deployment_objects d ON d.id = r.object_id
        JOIN agent_stack_associations a ON a.stack_id = d.stack_id AND a.agent_id = ${agentId}::uuid
    ), refused AS (
      SELECT min(r.ord) AS ord FROM report r WHERE NOT EXISTS (SELECT 1 FROM allowed x WHERE x.ord = r.ord)
    ), written AS (
      INSERT INTO deployment_health (agent_id, deployment_object_id, status, summary, checked_at)
      SELECT ${agentId}::uuid, object_id, status, summary, checked_at FROM allowed
       WHERE (SELECT ord FROM refused) IS NULL
      ON CONFLICT (agent_id, deployment_object_id)
      DO UPDATE SET status = EXCLUDED.status, summary = EXCLUDED.summary, checked_at = EXCLUDED.checked_at
      RETURNING 1
    )
    SELECT (SELECT ord FROM refused) AS refused, (SELECT count(*) FROM written) AS written`;
  const refused = rows[0]?.refused;
  return refused === null || refused === undefined ? null : Number(refused) - 1;
}

export type HealthRow = DeploymentHealth;

/** Every agent's latest health record of each object, for REST's computed-on-read summaries. */
export function healthOfObjects(db: Db, objectIds: readonly string[]) {
  return db.deploymentHealth.findMany({
    where: { deploymentObjectId: { in: [...objectIds] } },
    orderBy: [{ deploymentObjectId: "asc" }, { agentId: "asc" }],
  });
}

/** The health records of every object of a stack, in one statement. */
export function healthOfStack(db: Db, stackId: string) {
  return db.$queryRaw<{ deployment_object_id: string; status: string }[]>`
    SELECT h.deployment_object_id, h.status FROM deployment_health h
      JOIN deployment_objects d ON d.id = h.deployment_object_id
     WHERE d.stack_id = ${stackId}::uuid
     ORDER BY d.sequence_id, h.agent_id`;
}
