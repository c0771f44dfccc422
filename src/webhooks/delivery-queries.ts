import { Prisma } from "../generated/prisma/client.js";
import type { Db } from "../db/client.js";
import type { DeliveryRow, DeliveryStatus } from "./delivery-store.js";

export interface AttemptRow {
  delivery_id: string;
  attempt: number;
  delivered_by: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number | null;
  success: boolean;
  recorded_at: Date;
}

export interface DeliveryFilter {
  subscriptionId?: string;
  status?: DeliveryStatus;
  eventType?: string;
}

/** Newest first; `beforeSeq` is the seq of the last row of the previous page. */
export function listDeliveries(
  db: Db,
  filter: DeliveryFilter,
  page: { limit: number; offset?: number; beforeSeq?: bigint },
): Promise<DeliveryRow[]> {
  const where = [Prisma.sql`TRUE`];
  if (filter.subscriptionId) where.push(Prisma.sql`subscription_id = ${filter.subscriptionId}::uuid`);
  if (filter.status) where.push(Prisma.sql`status = ${filter.status}`);
  if (filter.eventType) where.push(Prisma.sql`event_type = ${filter.eventType}`);
  if (page.beforeSeq !== undefined) where.push(Prisma.sql`seq < ${page.beforeSeq}::bigint`);
  return db.$queryRaw<DeliveryRow[]>`
    SELECT * FROM webhook_deliveries WHERE ${Prisma.join(where, " AND ")}
     ORDER BY seq DESC LIMIT ${page.limit} OFFSET ${page.offset ?? 0}`;
}

export async function findDelivery(db: Db, id: string): Promise<DeliveryRow | null> {
  const rows = await db.$queryRaw<DeliveryRow[]>`SELECT * FROM webhook_deliveries WHERE id = ${id}::uuid`;
  return rows[0] ?? null;
}

/** The attempts of these deliveries, in attempt order (at most 20 per delivery: max_retries caps them). */
export function attemptsOf(db: Db, deliveryIds: readonly string[]): Promise<AttemptRow[]> {
  return db.$queryRaw<AttemptRow[]>`
    SELECT * FROM webhook_delivery_attempts WHERE delivery_id = ANY(${[...deliveryIds]}::uuid[])
     ORDER BY delivery_id, attempt`;
}
