import type { Db } from "../db/client.js";

/** The promotion columns the runner reads (the promotions domain owns the rest). */
export interface PromotionRef {
  id: string;
  status: string;
  releaseId: string;
  environmentId: string;
  decisionRecord: { name: string; passed: boolean; inputs?: unknown }[];
}

const COLUMNS = `id::text, status, release_id::text AS "releaseId", target_environment_id::text AS "environmentId",
  decision_record AS "decisionRecord"`;

/**
 * Marks the runner's two idle polls (this and claimJobs): statement-counting tests leave out a
 * broker's background polls, and these run every couple of seconds whatever the request under test.
 */
export const POLL_TAG = "/* brokkr:rollouts-poll */";

/** APPROVED promotions no job was made for, oldest decision first. */
export function approvedWithoutJob(db: Db, limit: number): Promise<PromotionRef[]> {
  return db.$queryRawUnsafe<PromotionRef[]>(
    `${POLL_TAG} SELECT ${COLUMNS} FROM promotions p
      WHERE p.status = 'APPROVED' AND NOT EXISTS (SELECT 1 FROM deployment_jobs j WHERE j.promotion_id = p.id)
      ORDER BY p.decided_at NULLS FIRST, p.id LIMIT $1`,
    limit,
  );
}

/** Locks the promotion while it is still APPROVED without a job; null when another broker has it. */
export async function lockApprovedWithoutJob(db: Db, id: string): Promise<PromotionRef | null> {
  const rows = await db.$queryRawUnsafe<PromotionRef[]>(
    `SELECT ${COLUMNS} FROM promotions p
      WHERE p.id = $1::uuid AND p.status = 'APPROVED'
        AND NOT EXISTS (SELECT 1 FROM deployment_jobs j WHERE j.promotion_id = p.id)
        FOR UPDATE SKIP LOCKED`,
    id,
  );
  return rows[0] ?? null;
}

export async function lockPromotion(db: Db, id: string): Promise<PromotionRef | null> {
  const rows = await db.$queryRawUnsafe<PromotionRef[]>(`SELECT ${COLUMNS} FROM promotions WHERE id = $1::uuid FOR UPDATE`, id);
  return rows[0] ?? null;
}

export async function appendDecision(db: Db, id: string, entry: Record<string, unknown>): Promise<void> {
  await db.$executeRaw`
    UPDATE promotions SET decision_record = decision_record || jsonb_build_array(${JSON.stringify(entry)}::jsonb)
     WHERE id = ${id}::uuid`;
}

/** A guarded transition: nothing happens unless the promotion is in one of `from`. */
export async function movePromotion(
  db: Db,
  id: string,
  from: readonly string[],
  to: string,
  completed = false,
): Promise<boolean> {
  const n = await db.$executeRaw`
    UPDATE promotions SET status = ${to}, completed_at = CASE WHEN ${completed} THEN now() ELSE completed_at END
     WHERE id = ${id}::uuid AND status = ANY(${[...from]}::text[])`;
  return n === 1;
}

/** DEPLOYED once any job of the release succeeded; a DEPRECATED release stays so. */
export async function markReleaseDeployed(db: Db, releaseId: string): Promise<void> {
  await db.$executeRaw`UPDATE releases SET status = 'DEPLOYED' WHERE id = ${releaseId}::uuid AND status = 'READY'`;
}
