import type { AgentRow } from "../agents/store.js";
import type { Db } from "../db/client.js";
import { Prisma } from "../generated/prisma/client.js";

/** An agent row in Prisma's shape (src/agents/store.ts AgentRow), read in the same statement as the links. */
export type MemberAgent = AgentRow & { environmentId: string };

const AGENT = Prisma.raw(`a.id::text AS id, a.name, a.cluster_name AS "clusterName", a.status, a.pak_hash AS "pakHash",
  a.last_heartbeat AS "lastHeartbeat", a.k8s_reachable AS "k8sReachable", a.k8s_api_latency_ms AS "k8sApiLatencyMs",
  a.created_at AS "createdAt", a.updated_at AS "updatedAt", a.deleted_at AS "deletedAt"`);

/** The ids among `ids` that name no live agent. */
export async function missingAgents(db: Db, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db.$queryRaw<{ id: string }[]>`
    SELECT x.id::text AS id FROM unnest(${[...ids]}::uuid[]) AS x(id)
     WHERE NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = x.id AND a.deleted_at IS NULL)`;
  return rows.map((r) => r.id);
}

/** Makes `agentIds` the environment's explicit members, exactly. */
export async function replaceExplicitMembers(db: Db, environmentId: string, agentIds: readonly string[]) {
  await db.$executeRaw`
    DELETE FROM environment_members WHERE environment_id = ${environmentId}::uuid AND agent_id <> ALL(${[...agentIds]}::uuid[])`;
  await db.$executeRaw`
    INSERT INTO environment_members (environment_id, agent_id)
    SELECT ${environmentId}::uuid, x FROM unnest(${[...agentIds]}::uuid[]) AS x
    ON CONFLICT DO NOTHING`;
}

/** Each environment's explicit members that are live agents, by agent name. */
export function explicitMembersOf(db: Db, environmentIds: readonly string[]): Promise<MemberAgent[]> {
  return db.$queryRaw<MemberAgent[]>`
    SELECT m.environment_id::text AS "environmentId", ${AGENT}
      FROM environment_members m JOIN agents a ON a.id = m.agent_id AND a.deleted_at IS NULL
     WHERE m.environment_id = ANY(${[...environmentIds]}::uuid[])
     ORDER BY m.environment_id, a.name, a.id`;
}

/**
 * Membership, the one definition: an environment's explicit members and every live agent that
 * carries all of its selector's labels and annotation pairs (an empty selector selects nobody),
 * at most `limit` per environment by agent name. One statement for any number of environments;
 * the selector drives through the label and (key, value) indexes, never a scan of all agents.
 */
export function agentsOfEnvironments(db: Db, environmentIds: readonly string[], limit: number): Promise<MemberAgent[]> {
  return db.$queryRaw<MemberAgent[]>`
    WITH e AS (
      SELECT id, agent_selector AS s FROM environments WHERE id = ANY(${[...environmentIds]}::uuid[]) AND deleted_at IS NULL),
    l AS (SELECT DISTINCT e.id AS env, x AS label FROM e, jsonb_array_elements_text(e.s->'labels') x),
    an AS (SELECT DISTINCT e.id AS env, x->>'key' AS key, x->>'value' AS value FROM e, jsonb_array_elements(e.s->'annotations') x),
    n AS (SELECT e.id AS env, (SELECT count(*) FROM l WHERE l.env = e.id) AS nl,
                 (SELECT count(*) FROM an WHERE an.env = e.id) AS na FROM e),
    by_label AS (
      SELECT l.env, t.agent_id FROM l JOIN agent_labels t ON t.label = l.label
       GROUP BY l.env, t.agent_id HAVING count(*) = (SELECT n.nl FROM n WHERE n.env = l.env)),
    by_annotation AS (
      SELECT an.env, t.agent_id FROM an JOIN agent_annotations t ON t.key = an.key AND t.value = an.value
       GROUP BY an.env, t.agent_id HAVING count(*) = (SELECT n.na FROM n WHERE n.env = an.env)),
    members AS (
      SELECT b.env, b.agent_id FROM by_label b JOIN n USING (env) WHERE n.na = 0
      UNION SELECT b.env, b.agent_id FROM by_annotation b JOIN n USING (env) WHERE n.nl = 0
      UNION SELECT b.env, b.agent_id FROM by_label b JOIN by_annotation c USING (env, agent_id)
      UNION SELECT m.environment_id, m.agent_id FROM environment_members m JOIN e ON e.id = m.environment_id),
    ranked AS (
      SELECT m.env, m.agent_id, row_number() OVER (PARTITION BY m.env ORDER BY a.name, a.id) AS rn
        FROM members m JOIN agents a ON a.id = m.agent_id AND a.deleted_at IS NULL)
    SELECT r.env::text AS "environmentId", ${AGENT} FROM ranked r JOIN agents a ON a.id = r.agent_id
     WHERE r.rn <= ${limit} ORDER BY r.env, r.rn`;
}
