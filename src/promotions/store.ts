import { Prisma } from "../generated/prisma/client.js";
import type { Db } from "../db/client.js";
import type { GateVerdict } from "./gates.js";

export type PromotionStatus = "PENDING_APPROVAL" | "APPROVED" | "DEPLOYING" | "DEPLOYED" | "FAILED" | "REJECTED" | "ROLLED_BACK";

/** A promotions row, columns aliased to the GraphQL field names. */
export interface PromotionRow {
  id: string;
  releaseId: string;
  sourceEnvironmentId: string | null;
  targetEnvironmentId: string;
  status: PromotionStatus;
  decisionRecord: GateVerdict[];
  requestedByUserId: string | null;
  requestedByGeneratorId: string | null;
  requestedAt: Date;
  decidedAt: Date | null;
  completedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ApprovalRow {
  id: string;
  promotionId: string;
  approverId: string;
  action: "APPROVED" | "REJECTED";
  comment: string | null;
  createdAt: Date;
}

const COLUMNS = Prisma.sql`id, release_id AS "releaseId", source_environment_id AS "sourceEnvironmentId",
  target_environment_id AS "targetEnvironmentId", status, decision_record AS "decisionRecord",
  requested_by_user_id AS "requestedByUserId", requested_by_generator_id AS "requestedByGeneratorId",
  requested_at AS "requestedAt", decided_at AS "decidedAt", completed_at AS "completedAt",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

export async function findPromotion(db: Db, id: string, lock = false): Promise<PromotionRow | undefined> {
  const rows = await db.$queryRaw<PromotionRow[]>`
    SELECT ${COLUMNS} FROM promotions WHERE id = ${id}::uuid ${lock ? Prisma.sql`FOR UPDATE` : Prisma.empty}`;
  return rows[0];
}

export function findPromotionsByIds(db: Db, ids: readonly string[]): Promise<PromotionRow[]> {
  return db.$queryRaw<PromotionRow[]>`SELECT ${COLUMNS} FROM promotions WHERE id = ANY(${ids as string[]}::uuid[])`;
}

export interface PromotionFilter {
  status?: PromotionStatus;
  environmentId?: string;
  releaseId?: string;
  /** Keyset: (created_at as PostgreSQL prints it, id) of the last row seen, newest first. */
  before?: [string, string];
  limit: number;
}

/** Newest first, by (created_at, id). */
export function listPromotions(db: Db, f: PromotionFilter): Promise<(PromotionRow & { cursorAt: string })[]> {
  const where = [
    f.status ? Prisma.sql`status = ${f.status}` : null,
    f.environmentId ? Prisma.sql`target_environment_id = ${f.environmentId}::uuid` : null,
    f.releaseId ? Prisma.sql`release_id = ${f.releaseId}::uuid` : null,
    f.before ? Prisma.sql`(created_at, id) < (${f.before[0]}::timestamptz, ${f.before[1]}::uuid)` : null,
  ].filter((w): w is Prisma.Sql => w !== null);
  return db.$queryRaw<(PromotionRow & { cursorAt: string })[]>`
    SELECT ${COLUMNS}, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "cursorAt" FROM promotions
    ${where.length ? Prisma.sql`WHERE ${Prisma.join(where, " AND ")}` : Prisma.empty}
    ORDER BY created_at DESC, id DESC LIMIT ${f.limit}`;
}

export interface PromotionWrite {
  releaseId: string;
  sourceEnvironmentId: string | null;
  targetEnvironmentId: string;
  status: PromotionStatus;
  decisionRecord: GateVerdict[];
  requestedByUserId: string | null;
  requestedByGeneratorId: string | null;
}

/** Fails with a unique violation when a promotion into the environment is in flight. */
export async function insertPromotion(db: Db, p: PromotionWrite): Promise<PromotionRow> {
  const rows = await db.$queryRaw<PromotionRow[]>`
    INSERT INTO promotions (release_id, source_environment_id, target_environment_id, status, decision_record,
                            requested_by_user_id, requested_by_generator_id, decided_at)
    VALUES (${p.releaseId}::uuid, ${p.sourceEnvironmentId}::uuid, ${p.targetEnvironmentId}::uuid, ${p.status},
            ${JSON.stringify(p.decisionRecord)}::jsonb, ${p.requestedByUserId}::uuid, ${p.requestedByGeneratorId}::uuid,
            CASE WHEN ${p.status} = 'APPROVED' THEN now() END)
    RETURNING ${COLUMNS}`;
  return rows[0] as PromotionRow;
}

/**
 * Moves a promotion on from `expected` (guarded: a promotion that moved meanwhile is left as it
 * is and undefined returned), appending verdicts to its decision record.
 */
export async function decide(
  db: Db,
  id: string,
  expected: PromotionStatus,
  next: PromotionStatus,
  verdicts: GateVerdict[],
): Promise<PromotionRow | undefined> {
  const rows = await db.$queryRaw<PromotionRow[]>`
    UPDATE promotions SET status = ${next}, decision_record = decision_record || ${JSON.stringify(verdicts)}::jsonb,
           decided_at = now(), completed_at = CASE WHEN ${next} = 'REJECTED' THEN now() ELSE completed_at END
    WHERE id = ${id}::uuid AND status = ${expected}
    RETURNING ${COLUMNS}`;
  return rows[0];
}

/** Fails with a unique violation when this approver decided on the promotion before. */
export async function insertApproval(
  db: Db,
  a: { promotionId: string; approverId: string; action: ApprovalRow["action"]; comment: string | null },
): Promise<ApprovalRow> {
  const rows = await db.$queryRaw<ApprovalRow[]>`
    INSERT INTO promotion_approvals (promotion_id, approver_id, action, comment)
    VALUES (${a.promotionId}::uuid, ${a.approverId}::uuid, ${a.action}, ${a.comment})
    RETURNING id, promotion_id AS "promotionId", approver_id AS "approverId", action, comment, created_at AS "createdAt"`;
  return rows[0] as ApprovalRow;
}

export function approvalsOfPromotions(db: Db, ids: readonly string[]): Promise<ApprovalRow[]> {
  return db.$queryRaw<ApprovalRow[]>`
    SELECT id, promotion_id AS "promotionId", approver_id AS "approverId", action, comment, created_at AS "createdAt"
    FROM promotion_approvals WHERE promotion_id = ANY(${ids as string[]}::uuid[]) ORDER BY created_at, id`;
}
