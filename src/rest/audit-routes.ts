import { z } from "zod";
import { auditLogList, checkFilter } from "../audit/service.js";
import type { ListedRow } from "../audit/store.js";
import { ok, route, uuid } from "./route.js";

/** Brokkr's AuditLogEntry: ip_address and user_agent omitted when null, as Brokkr does. */
function auditLogJson(r: ListedRow) {
  return {
    id: r.id,
    timestamp: r.timestamp.toISOString(),
    actor_type: r.actorType,
    actor_id: r.actorId,
    actor_name: r.currentName ?? r.actorName,
    action: r.action,
    resource_type: r.resourceType,
    resource_id: r.resourceId,
    details: r.details ?? null,
    ...(r.ipAddress !== null ? { ip_address: r.ipAddress } : {}),
    ...(r.userAgent !== null ? { user_agent: r.userAgent } : {}),
    created_at: r.createdAt.toISOString(),
    // Beyond Brokkr: the row's place in the hash chain.
    sequence: r.seq.toString(),
    prev_hash: r.prevHash,
    hash: r.hash,
  };
}

const time = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
// Brokkr clamps limit and offset rather than refusing them (its spec has no 400 here).
const clamped = (min: number, max: number, fallback: number) =>
  z.coerce
    .number()
    .int()
    .default(fallback)
    .transform((n) => Math.min(max, Math.max(min, n)));

const snake = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

// Admin only (Brokkr lets its read-only UI key read it too, addresses included: §5).
export const auditRoutes = [
  route({
    op: "list_audit_logs",
    roles: ["ADMIN"],
    query: z.object({
      actor_type: z.string().optional(),
      actor_id: uuid.optional(),
      action: z.string().optional(),
      resource_type: z.string().optional(),
      resource_id: uuid.optional(),
      from: time.optional(),
      to: time.optional(),
      limit: clamped(1, 1000, 100),
      offset: clamped(0, Number.MAX_SAFE_INTEGER, 0),
    }),
    handle: async ({ who, query, deps }) => {
      const { limit, offset, actor_type, actor_id, resource_type, resource_id, ...rest } = query;
      const filter = checkFilter(
        { ...rest, actorType: actor_type, actorId: actor_id, resourceType: resource_type, resourceId: resource_id },
        snake,
      );
      const { rows, total } = await auditLogList(deps.db, who, filter, limit, offset);
      return ok({ logs: rows.map(auditLogJson), total, count: rows.length, limit, offset });
    },
  }),
];
