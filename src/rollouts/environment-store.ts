import type { Db } from "../db/client.js";
import type { Strategy } from "./job-store.js";

/** The environment settings a job snapshots. */
export interface RolloutEnvironment {
  id: string;
  name: string;
  freezeWindows: unknown[];
  timeZone: string;
  strategy: Strategy;
  batchSize: number | null;
  batchPercent: number | null;
  failureThreshold: number;
}

export async function findRolloutEnvironment(db: Db, id: string): Promise<RolloutEnvironment | null> {
  const rows = await db.$queryRaw<RolloutEnvironment[]>`
    SELECT id::text, name, freeze_windows AS "freezeWindows", time_zone AS "timeZone", rollout_strategy AS strategy,
           batch_size AS "batchSize", batch_percent AS "batchPercent", failure_threshold AS "failureThreshold"
      FROM environments WHERE id = ${id}::uuid`;
  return rows[0] ?? null;
}

/**
 * Live agents of the environment: explicit members, and agents carrying every label and
 * annotation pair of its selector (an empty selector selects nobody), by name.
 * Stands in until the catalog's listEnvironmentAgents (src/environments) is merged: wire that in.
 */
export function environmentAgentIds(db: Db, environmentId: string): Promise<{ id: string }[]> {
  return db.$queryRaw<{ id: string }[]>`
    SELECT a.id::text FROM agents a, environments e
     WHERE e.id = ${environmentId}::uuid AND a.deleted_at IS NULL
       AND (EXISTS (SELECT 1 FROM environment_members m WHERE m.environment_id = e.id AND m.agent_id = a.id)
            OR ((jsonb_array_length(coalesce(e.agent_selector->'labels', '[]')) > 0
                 OR jsonb_array_length(coalesce(e.agent_selector->'annotations', '[]')) > 0)
                AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(coalesce(e.agent_selector->'labels', '[]')) l(label)
                                 WHERE NOT EXISTS (SELECT 1 FROM agent_labels al WHERE al.agent_id = a.id AND al.label = l.label))
                AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(e.agent_selector->'annotations', '[]')) s(pair)
                                 WHERE NOT EXISTS (SELECT 1 FROM agent_annotations aa WHERE aa.agent_id = a.id
                                                      AND aa.key = s.pair->>'key' AND aa.value = s.pair->>'value'))))
     ORDER BY a.name, a.id`;
}

export async function findEnvironmentStack(db: Db, environmentId: string, agentId: string): Promise<string | null> {
  const rows = await db.$queryRaw<{ stackId: string }[]>`
    SELECT s.stack_id::text AS "stackId" FROM environment_agent_stacks s
     WHERE s.environment_id = ${environmentId}::uuid AND s.agent_id = ${agentId}::uuid`;
  return rows[0]?.stackId ?? null;
}

export async function insertEnvironmentStack(db: Db, environmentId: string, agentId: string, stackId: string): Promise<void> {
  await db.$executeRaw`
    INSERT INTO environment_agent_stacks (environment_id, agent_id, stack_id)
    VALUES (${environmentId}::uuid, ${agentId}::uuid, ${stackId}::uuid)`;
}

/** The orchestrator's own generator (no key: nobody can act as it), created once. */
export async function ensureSystemGenerator(db: Db, name: string, description: string): Promise<string> {
  await db.$executeRaw`
    INSERT INTO generators (name, description) VALUES (${name}, ${description})
    ON CONFLICT (name) WHERE deleted_at IS NULL DO NOTHING`;
  const rows = await db.$queryRaw<{ id: string }[]>`
    SELECT id::text FROM generators WHERE name = ${name} AND deleted_at IS NULL`;
  const row = rows[0];
  if (!row) throw new Error(`generator ${name} could not be created`);
  return row.id;
}
