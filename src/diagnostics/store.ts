import { Prisma } from "../generated/prisma/client.js";
import type { Db } from "../db/client.js";

export type DiagnosticStatus = "pending" | "claimed" | "completed" | "failed" | "expired";

export interface DiagnosticRequestRow {
  id: string;
  agentId: string;
  deploymentObjectId: string;
  /** The object's stack: the agent finds the object's resources by the stack label. */
  stackId: string;
  /** As of the query: pending past expiry reads `expired`, claimed past expiry `failed`. */
  status: DiagnosticStatus;
  requestedBy: string | null;
  createdAt: Date;
  claimedAt: Date | null;
  completedAt: Date | null;
  expiresAt: Date;
  /** created_at in epoch microseconds (a Date keeps only milliseconds), for the keyset cursor. */
  micros: string;
}

export interface DiagnosticResultRow {
  id: string;
  requestId: string;
  podStatuses: string;
  events: string;
  logTails: string | null;
  collectedAt: Date;
  createdAt: Date;
}

interface RawRequest {
  id: string;
  agent_id: string;
  deployment_object_id: string;
  stack_id: string;
  status: DiagnosticStatus;
  requested_by: string | null;
  created_at: Date;
  claimed_at: Date | null;
  completed_at: Date | null;
  expires_at: Date;
  micros: bigint | string;
}

const toRequest = (r: RawRequest): DiagnosticRequestRow => ({
  id: r.id,
  agentId: r.agent_id,
  deploymentObjectId: r.deployment_object_id,
  stackId: r.stack_id,
  status: r.status,
  requestedBy: r.requested_by,
  createdAt: r.created_at,
  claimedAt: r.claimed_at,
  completedAt: r.completed_at,
  expiresAt: r.expires_at,
  micros: String(r.micros),
});

// The one definition of the status a reader sees: expiry is effective before the clean-up runs.
const STATUS = Prisma.sql`CASE WHEN r.status = 'pending' AND r.expires_at <= now() THEN 'expired'
  WHEN r.status = 'claimed' AND r.expires_at <= now() THEN 'failed' ELSE r.status END`;

const MICROS = Prisma.sql`(extract(epoch FROM r.created_at) * 1000000)::bigint`;

/** Selects requests `r` joined to their object `d` (for the stack id). */
const SELECT = Prisma.sql`SELECT r.id, r.agent_id, r.deployment_object_id, d.stack_id, ${STATUS} AS status,
  r.requested_by, r.created_at, r.claimed_at, r.completed_at, r.expires_at, ${MICROS} AS micros
  FROM diagnostic_requests r JOIN deployment_objects d ON d.id = r.deployment_object_id`;

/** Inserts a pending request for a live deployment object; null when the object is missing or deleted. */
export async function insertRequest(
  db: Db,
  data: { agentId: string; deploymentObjectId: string; requestedBy: string | null; retentionMinutes: number },
): Promise<DiagnosticRequestRow | null> {
  const rows = await db.$queryRaw<RawRequest[]>`
    WITH r AS (
      INSERT INTO diagnostic_requests (agent_id, deployment_object_id, requested_by, expires_at)
      SELECT ${data.agentId}::uuid, d.id, ${data.requestedBy}, now() + make_interval(mins => ${data.retentionMinutes}::int)
        FROM deployment_objects d WHERE d.id = ${data.deploymentObjectId}::uuid AND d.deleted_at IS NULL
      RETURNING *)
    SELECT r.id, r.agent_id, r.deployment_object_id, d.stack_id, r.status, r.requested_by, r.created_at,
           r.claimed_at, r.completed_at, r.expires_at, ${MICROS} AS micros
      FROM r JOIN deployment_objects d ON d.id = r.deployment_object_id`;
  return rows[0] ? toRequest(rows[0]) : null;
}

export async function findRequest(db: Db, id: string): Promise<DiagnosticRequestRow | null> {
  const rows = await db.$queryRaw<RawRequest[]>`${SELECT} WHERE r.id = ${id}::uuid`;
  return rows[0] ? toRequest(rows[0]) : null;
}

export async function findRequests(db: Db, ids: string[]): Promise<DiagnosticRequestRow[]> {
  if (ids.length === 0) return [];
  const rows = await db.$queryRaw<RawRequest[]>`${SELECT} WHERE r.id = ANY(${ids}::uuid[])`;
  return rows.map(toRequest);
}

/** An agent's pending, unexpired requests, oldest first (uses the partial index). */
export async function pendingOfAgent(db: Db, agentId: string, limit: number): Promise<DiagnosticRequestRow[]> {
  const rows = await db.$queryRaw<RawRequest[]>`${SELECT}
    WHERE r.agent_id = ${agentId}::uuid AND r.status = 'pending' AND r.expires_at > now()
    ORDER BY r.created_at, r.id LIMIT ${limit}`;
  return rows.map(toRequest);
}

export interface RequestListFilter {
  agentId?: string;
  deploymentObjectId?: string;
  status?: DiagnosticStatus;
  /** Keyset: (created_at in epoch microseconds, id) of the last row of the previous page. */
  before?: [string, string];
}

/** Newest first, `take` rows. */
export async function listRequests(db: Db, filter: RequestListFilter, take: number): Promise<DiagnosticRequestRow[]> {
  const where = [Prisma.sql`TRUE`];
  if (filter.agentId) where.push(Prisma.sql`agent_id = ${filter.agentId}::uuid`);
  if (filter.deploymentObjectId) where.push(Prisma.sql`deployment_object_id = ${filter.deploymentObjectId}::uuid`);
  if (filter.status) where.push(Prisma.sql`status = ${filter.status}`);
  if (filter.before) where.push(Prisma.sql`(micros, id) < (${filter.before[0]}::bigint, ${filter.before[1]}::uuid)`);
  const rows = await db.$queryRaw<RawRequest[]>`
    SELECT * FROM (${SELECT}) q
     WHERE ${Prisma.join(where, " AND ")}
     ORDER BY micros DESC, id DESC LIMIT ${take}`;
  return rows.map(toRequest);
}

/**
 * pending → claimed by its own agent, in one conditional UPDATE: of two claims racing, exactly
 * one matches. False when the request is not (or no longer) the agent's to claim.
 */
export async function claimRequest(db: Db, id: string, agentId: string): Promise<boolean> {
  const n = await db.$executeRaw`
    UPDATE diagnostic_requests SET status = 'claimed', claimed_at = now()
     WHERE id = ${id}::uuid AND agent_id = ${agentId}::uuid AND status = 'pending' AND expires_at > now()`;
  return n === 1;
}

/** claimed → completed, by its own agent and before expiry; false when that does not hold. */
export async function completeRequest(db: Db, id: string, agentId: string): Promise<boolean> {
  const n = await db.$executeRaw`
    UPDATE diagnostic_requests SET status = 'completed', completed_at = now()
     WHERE id = ${id}::uuid AND agent_id = ${agentId}::uuid AND status = 'claimed' AND expires_at > now()`;
  return n === 1;
}

export function insertResult(
  db: Db,
  data: { requestId: string; podStatuses: string; events: string; logTails: string | null; collectedAt: Date },
): Promise<DiagnosticResultRow> {
  return db.diagnosticResult.create({ data });
}

export function resultsOfRequests(db: Db, requestIds: readonly string[]): Promise<DiagnosticResultRow[]> {
  return db.diagnosticResult.findMany({ where: { requestId: { in: [...requestIds] } } });
}

/**
 * Deletes up to `batch` expired requests (their results cascade) and returns how many. Safe on
 * several brokers at once: a row another broker deleted first is skipped, never deleted twice.
 */
export function deleteExpired(db: Db, batch: number): Promise<number> {
  return db.$executeRaw`
    DELETE FROM diagnostic_requests
     WHERE id IN (SELECT id FROM diagnostic_requests WHERE expires_at < now() LIMIT ${batch})`;
}
