import type { Db } from "../db/client.js";
import { Prisma } from "../generated/prisma/client.js";
import type { Page } from "../graphql/pagination.js";
import type { AgentSelector, FreezeWindowJson } from "./input.js";

/** An environments row (migration 0019) as the API reads it. */
export interface EnvironmentRow {
  id: string;
  name: string;
  displayName: string;
  orderIndex: number;
  config: Record<string, unknown>;
  agentSelector: AgentSelector;
  freezeWindows: FreezeWindowJson[];
  timeZone: string;
  requiredApprovals: number;
  requireSod: boolean;
  rolloutStrategy: "ALL_AT_ONCE" | "ROLLING";
  batchSize: number | null;
  batchPercent: number | null;
  failureThreshold: number;
  driftPolicy: "REPORT" | "HEAL";
  createdAt: Date;
  updatedAt: Date;
}

/** Every column an update may set (all of them but the name, which identifies it to people). */
export type EnvironmentSettings = Omit<EnvironmentRow, "id" | "name" | "createdAt" | "updatedAt">;

const COLUMNS = Prisma.raw(`e.id, e.name, e.display_name AS "displayName", e.order_index AS "orderIndex", e.config,
  e.agent_selector AS "agentSelector", e.freeze_windows AS "freezeWindows", e.time_zone AS "timeZone",
  e.required_approvals AS "requiredApprovals", e.require_sod AS "requireSod", e.rollout_strategy AS "rolloutStrategy",
  e.batch_size AS "batchSize", e.batch_percent AS "batchPercent", e.failure_threshold AS "failureThreshold",
  e.drift_policy AS "driftPolicy", e.created_at AS "createdAt", e.updated_at AS "updatedAt"`);

const json = (value: unknown) => JSON.stringify(value);

/** The new row, or null when a live environment holds the name or the order index. */
export async function insertEnvironment(db: Db, name: string, s: EnvironmentSettings): Promise<EnvironmentRow | null> {
  const rows = await db.$queryRaw<EnvironmentRow[]>`
    WITH e AS (
      INSERT INTO environments (name, display_name, order_index, config, agent_selector, freeze_windows, time_zone,
                                required_approvals, require_sod, rollout_strategy, batch_size, batch_percent,
                                failure_threshold, drift_policy)
      VALUES (${name}, ${s.displayName}, ${s.orderIndex}, ${json(s.config)}::jsonb, ${json(s.agentSelector)}::jsonb,
              ${json(s.freezeWindows)}::jsonb, ${s.timeZone}, ${s.requiredApprovals}, ${s.requireSod},
              ${s.rolloutStrategy}, ${s.batchSize}::int, ${s.batchPercent}::int, ${s.failureThreshold}, ${s.driftPolicy})
      ON CONFLICT DO NOTHING
      RETURNING *)
    SELECT ${COLUMNS} FROM e`;
  return rows[0] ?? null;
}

/** Sets every setting of a live environment; a unique violation (order index) is the caller's to map. */
export async function updateEnvironment(db: Db, id: string, s: EnvironmentSettings): Promise<EnvironmentRow | null> {
  const rows = await db.$queryRaw<EnvironmentRow[]>`
    WITH e AS (
      UPDATE environments
         SET display_name = ${s.displayName}, order_index = ${s.orderIndex}, config = ${json(s.config)}::jsonb,
             agent_selector = ${json(s.agentSelector)}::jsonb, freeze_windows = ${json(s.freezeWindows)}::jsonb,
             time_zone = ${s.timeZone}, required_approvals = ${s.requiredApprovals}, require_sod = ${s.requireSod},
             rollout_strategy = ${s.rolloutStrategy}, batch_size = ${s.batchSize}::int, batch_percent = ${s.batchPercent}::int,
             failure_threshold = ${s.failureThreshold}, drift_policy = ${s.driftPolicy}
       WHERE id = ${id}::uuid AND deleted_at IS NULL
      RETURNING *)
    SELECT ${COLUMNS} FROM e`;
  return rows[0] ?? null;
}

/** Which unique key of live rows a name or order index meets: the first one taken, or null. */
export async function takenKey(db: Db, name: string | null, orderIndex: number, exceptId?: string) {
  const rows = await db.$queryRaw<{ key: "name" | "orderIndex" }[]>`
    SELECT CASE WHEN name = ${name} THEN 'name' ELSE 'orderIndex' END AS key
      FROM environments
     WHERE deleted_at IS NULL AND (name = ${name} OR order_index = ${orderIndex})
       AND id IS DISTINCT FROM ${exceptId ?? null}::uuid
     ORDER BY 1 LIMIT 1`;
  return rows[0]?.key ?? null;
}

export async function findEnvironment(db: Db, id: string, forUpdate = false): Promise<EnvironmentRow | null> {
  const rows = forUpdate
    ? await db.$queryRaw<EnvironmentRow[]>`
        SELECT ${COLUMNS} FROM environments e WHERE e.id = ${id}::uuid AND e.deleted_at IS NULL FOR UPDATE`
    : await db.$queryRaw<EnvironmentRow[]>`
        SELECT ${COLUMNS} FROM environments e WHERE e.id = ${id}::uuid AND e.deleted_at IS NULL`;
  return rows[0] ?? null;
}

/** Live and deleted alike: what a promotion or release row names stays readable. */
export function findEnvironmentsByIds(db: Db, ids: readonly string[]): Promise<EnvironmentRow[]> {
  return db.$queryRaw<EnvironmentRow[]>`SELECT ${COLUMNS} FROM environments e WHERE e.id = ANY(${[...ids]}::uuid[])`;
}

const likePattern = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Live environments by (order index, id), keyset-paginated after `after` = [orderIndex, id]. */
export function listEnvironments(db: Db, nameContains: string | null, page: Page, after: [number, string] | null) {
  return db.$queryRaw<EnvironmentRow[]>`
    SELECT ${COLUMNS} FROM environments e
     WHERE e.deleted_at IS NULL
       AND (${nameContains}::text IS NULL OR e.name LIKE ${nameContains === null ? null : likePattern(nameContains)}::text)
       AND (${after?.[0] ?? null}::int IS NULL OR (e.order_index, e.id) > (${after?.[0] ?? null}::int, ${after?.[1] ?? null}::uuid))
     ORDER BY e.order_index, e.id
     LIMIT ${page.first + 1}`;
}

export async function softDeleteEnvironment(db: Db, id: string): Promise<boolean> {
  return (await db.$executeRaw`UPDATE environments SET deleted_at = now() WHERE id = ${id}::uuid AND deleted_at IS NULL`) > 0;
}

/** Whether a promotion into the environment is in flight (it would be orphaned by a deletion). */
export async function hasPromotionInFlight(db: Db, id: string): Promise<boolean> {
  const rows = await db.$queryRaw<{ n: number }[]>`
    SELECT 1 AS n FROM promotions WHERE target_environment_id = ${id}::uuid
       AND status IN ('PENDING_APPROVAL', 'APPROVED', 'DEPLOYING') LIMIT 1`;
  return rows.length > 0;
}
