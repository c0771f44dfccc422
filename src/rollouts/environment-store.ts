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
