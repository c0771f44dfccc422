import type { Db } from "../db/client.js";
import type {
  WorkOrder,
  WorkOrderAnnotation,
  WorkOrderLabel,
  WorkOrderLog,
  WorkOrderTarget,
} from "../generated/prisma/client.js";
import { decodeNumberIdCursor, type Page } from "../graphql/pagination.js";

// The only code that touches the work-order tables (migration 0011). Every read of an order
// includes its targeting: a page costs the same few statements whatever its size.
export type WorkOrderModel = WorkOrder & {
  targets: WorkOrderTarget[];
  labels: WorkOrderLabel[];
  annotations: WorkOrderAnnotation[];
};
export type WorkOrderLogRow = WorkOrderLog;
export type WorkOrderStatus = "PENDING" | "CLAIMED" | "RETRY_PENDING";

const withTargeting = { targets: true, labels: true, annotations: true } as const;

export interface NewWorkOrder {
  workType: string;
  yamlContent: string;
  maxRetries?: number;
  backoffSeconds?: number;
  claimTimeoutSeconds?: number;
  agentIds: string[];
  labels: string[];
  annotations: { key: string; value: string }[];
}

export function insertWorkOrder(db: Db, input: NewWorkOrder): Promise<WorkOrderModel> {
  const { agentIds, labels, annotations, ...fields } = input;
  return db.workOrder.create({
    data: {
      ...fields,
      targets: { create: agentIds.map((agentId) => ({ agentId })) },
      labels: { create: labels.map((label) => ({ label })) },
      annotations: { create: annotations },
    },
    include: withTargeting,
  });
}

export function findWorkOrder(db: Db, id: string): Promise<WorkOrderModel | null> {
  return db.workOrder.findUnique({ where: { id }, include: withTargeting });
}

export function findWorkOrders(db: Db, ids: string[]): Promise<WorkOrderModel[]> {
  return db.workOrder.findMany({
    where: { id: { in: ids } },
    include: withTargeting,
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
  });
}

export async function deleteWorkOrder(db: Db, id: string): Promise<boolean> {
  return (await db.workOrder.deleteMany({ where: { id } })).count > 0;
}

const micros = (column: string) => `(extract(epoch from ${column}) * 1000000)::bigint`;

/** Oldest first, keyset on (created_at, id); cursors carry created_at in epoch microseconds. */
export async function listWorkOrders(
  db: Db,
  filter: { status?: WorkOrderStatus; workType?: string },
  page: Page,
): Promise<{ row: WorkOrderModel; micros: string }[]> {
  const [after, afterId] = page.after ? decodeNumberIdCursor(page.after) : [null, null];
  const keys = await db.$queryRawUnsafe<{ id: string; micros: bigint }[]>(
    `SELECT id, ${micros("created_at")} AS micros FROM work_orders
      WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR work_type = $2)
        AND ($3::bigint IS NULL OR ${micros("created_at")} > $3::bigint
             OR (${micros("created_at")} = $3::bigint AND id > $4::uuid))
      ORDER BY created_at, id LIMIT $5`,
    filter.status ?? null,
    filter.workType ?? null,
    after,
    afterId,
    page.first + 1,
  );
  return joinKeys(
    keys,
    await findWorkOrders(
      db,
      keys.map((k) => k.id),
    ),
  );
}

/** Newest first, keyset on (completed_at, id). */
export async function listLog(
  db: Db,
  filter: { workType?: string; success?: boolean; agentId?: string },
  page: Page,
): Promise<{ row: WorkOrderLogRow; micros: string }[]> {
  const [before, beforeId] = page.after ? decodeNumberIdCursor(page.after) : [null, null];
  const keys = await db.$queryRawUnsafe<{ id: string; micros: bigint }[]>(
    `SELECT id, ${micros("completed_at")} AS micros FROM work_order_log
      WHERE ($1::text IS NULL OR work_type = $1) AND ($2::boolean IS NULL OR success = $2)
        AND ($3::uuid IS NULL OR claimed_by = $3::uuid)
        AND ($4::bigint IS NULL OR ${micros("completed_at")} < $4::bigint
             OR (${micros("completed_at")} = $4::bigint AND id < $5::uuid))
      ORDER BY completed_at DESC, id DESC LIMIT $6`,
    filter.workType ?? null,
    filter.success ?? null,
    filter.agentId ?? null,
    before,
    beforeId,
    page.first + 1,
  );
  return joinKeys(keys, await db.workOrderLog.findMany({ where: { id: { in: keys.map((k) => k.id) } } }));
}

function joinKeys<T extends { id: string }>(keys: { id: string; micros: bigint }[], rows: T[]) {
  const byId = new Map(rows.map((r) => [r.id, r]));
  // A row removed between the two statements is left out.
  return keys.flatMap((k) => {
    const row = byId.get(k.id);
    return row ? [{ row, micros: String(k.micros) }] : [];
  });
}

export function findLogEntry(db: Db, id: string): Promise<WorkOrderLogRow | null> {
  return db.workOrderLog.findUnique({ where: { id } });
}

export function findLogEntries(db: Db, ids: string[]): Promise<WorkOrderLogRow[]> {
  return db.workOrderLog.findMany({ where: { id: { in: ids } } });
}

/** Ids of the orders targeted at the agent: migration 0011's brokkr_work_orders_targeting, the one definition. */
const TARGETED_AT = (agentParam: string) => `(SELECT work_order_id FROM brokkr_work_orders_targeting(${agentParam}))`;

export async function pendingForAgent(db: Db, agentId: string, workType: string | undefined, limit: number) {
  const keys = await db.$queryRawUnsafe<{ id: string }[]>(
    `SELECT w.id FROM work_orders w
      WHERE w.status = 'PENDING' AND ($2::text IS NULL OR w.work_type = $2)
        AND w.id IN ${TARGETED_AT("$1::uuid")}
      ORDER BY w.created_at, w.id LIMIT $3`,
    agentId,
    workType ?? null,
    limit,
  );
  return keys.length === 0
    ? []
    : findWorkOrders(
        db,
        keys.map((k) => k.id),
      );
}

/** Whether the order is targeted at the agent, whatever its status. */
export async function isTargetedAt(db: Db, workOrderId: string, agentId: string): Promise<boolean> {
  const rows = await db.$queryRawUnsafe<unknown[]>(
    `SELECT 1 FROM work_orders w WHERE w.id = $1::uuid AND w.id IN ${TARGETED_AT("$2::uuid")}`,
    workOrderId,
    agentId,
  );
  return rows.length > 0;
}

/**
 * The claim, as one conditional UPDATE: of concurrent claims the first to lock the row wins; the
 * others re-check `status = 'PENDING'` on the row it committed and update nothing. The agent
 * must be targeted and still receive (live, ACTIVE) when the row is written.
 */
export async function claim(db: Db, workOrderId: string, agentId: string): Promise<boolean> {
  const claimed = await db.$executeRawUnsafe(
    `UPDATE work_orders w SET status = 'CLAIMED', claimed_by = $2::uuid, claimed_at = now()
      WHERE w.id = $1::uuid AND w.status = 'PENDING'
        AND EXISTS (SELECT 1 FROM agents a WHERE a.id = $2::uuid AND a.status = 'ACTIVE' AND a.deleted_at IS NULL)
        AND w.id IN ${TARGETED_AT("$2::uuid")}`,
    workOrderId,
    agentId,
  );
  return claimed > 0;
}

/** The order, locked until the transaction ends (completion reads and writes it once). */
export async function lockWorkOrder(db: Db, id: string): Promise<WorkOrder | null> {
  const rows = await db.$queryRaw<{ id: string }[]>`SELECT id FROM work_orders WHERE id = ${id}::uuid FOR UPDATE`;
  return rows.length === 0 ? null : db.workOrder.findUnique({ where: { id } });
}

/** Moves the order into the log under its id and removes it from the queue. */
export async function moveToLog(db: Db, order: WorkOrder, success: boolean, message: string | null): Promise<WorkOrderLogRow> {
  const entry = await db.workOrderLog.create({
    data: {
      id: order.id,
      workType: order.workType,
      createdAt: order.createdAt,
      claimedAt: order.claimedAt,
      claimedBy: order.claimedBy,
      success,
      retriesAttempted: order.retryCount,
      resultMessage: message,
      yamlContent: order.yamlContent,
    },
  });
  await db.workOrder.delete({ where: { id: order.id } });
  return entry;
}

/** RETRY_PENDING until now + backoff · 2^(retry_count + 1), capped at 7 days; the claim cleared. */
export async function scheduleRetry(db: Db, id: string, message: string): Promise<void> {
  await db.$executeRaw`
    UPDATE work_orders
       SET status = 'RETRY_PENDING', retry_count = retry_count + 1,
           next_retry_after = now() + LEAST(backoff_seconds * power(2, retry_count + 1), 604800) * interval '1 second',
           claimed_by = NULL, claimed_at = NULL, last_error = ${message}, last_error_at = now()
     WHERE id = ${id}::uuid`;
}

/**
 * The maintenance pass, one statement: due retries and stale claims back to PENDING. Rows are
 * taken with FOR UPDATE SKIP LOCKED, so brokers running it at once each take different rows and
 * never wait on one another, and a row being completed (locked) is left alone. $1 caps a pass.
 */
export const REQUEUE_SQL = `
  WITH due AS (
    SELECT id, status FROM work_orders
     WHERE (status = 'RETRY_PENDING' AND next_retry_after <= now())
        OR (status = 'CLAIMED' AND claimed_at + claim_timeout_seconds * interval '1 second' < now())
     ORDER BY created_at
     LIMIT $1
     FOR UPDATE SKIP LOCKED)
  UPDATE work_orders w
     SET status = 'PENDING', claimed_by = NULL, claimed_at = NULL, next_retry_after = NULL
    FROM due WHERE w.id = due.id
  RETURNING w.id, due.status AS was`;

export function requeueDue(db: Db, limit: number): Promise<{ id: string; was: string }[]> {
  return db.$queryRawUnsafe(REQUEUE_SQL, limit);
}

/**
 * For push: which of `agentIds` (live and ACTIVE) may claim which of the PENDING `workOrderIds`.
 * One statement for a whole notification, whatever the number of agents.
 */
export function claimablePairs(db: Db, workOrderIds: string[], agentIds: string[]) {
  return db.$queryRaw<{ work_order_id: string; agent_id: string }[]>`
    SELECT t.work_order_id, a.id AS agent_id
      FROM agents a CROSS JOIN LATERAL brokkr_work_orders_targeting(a.id) t
      JOIN work_orders w ON w.id = t.work_order_id AND w.status = 'PENDING'
     WHERE a.id = ANY(${agentIds}::uuid[]) AND a.status = 'ACTIVE' AND a.deleted_at IS NULL
       AND t.work_order_id = ANY(${workOrderIds}::uuid[])`;
}
