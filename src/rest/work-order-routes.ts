import { z } from "zod";
import type { WorkOrderLogRow, WorkOrderModel, WorkOrderStatus } from "../work-orders/store.js";
import * as workOrders from "../work-orders/service.js";
import { MAX_PAGE_SIZE } from "../graphql/pagination.js";
import { allPages, created, idParams, noContent, ok, route, uuid } from "./route.js";

// Brokkr v1 wire shapes of work orders and their log (openapi components WorkOrder, WorkOrderLog).
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function workOrderJson(w: WorkOrderModel) {
  return {
    id: w.id,
    work_type: w.workType,
    yaml_content: w.yamlContent,
    status: w.status,
    claimed_by: w.claimedBy,
    claimed_at: iso(w.claimedAt),
    claim_timeout_seconds: w.claimTimeoutSeconds,
    max_retries: w.maxRetries,
    retry_count: w.retryCount,
    backoff_seconds: w.backoffSeconds,
    next_retry_after: iso(w.nextRetryAfter),
    last_error: w.lastError,
    last_error_at: iso(w.lastErrorAt),
    created_at: iso(w.createdAt),
    updated_at: iso(w.updatedAt),
  };
}

/** A finished order as Brokkr's GET /work-orders/{id} shows it: the log entry in a WorkOrder's shape. */
function loggedWorkOrderJson(l: WorkOrderLogRow) {
  return {
    id: l.id,
    work_type: l.workType,
    yaml_content: l.yamlContent,
    status: l.success ? "COMPLETED" : "FAILED",
    claimed_by: l.claimedBy,
    claimed_at: iso(l.claimedAt),
    // Not kept in the log (Brokkr sends 0 too).
    claim_timeout_seconds: 0,
    max_retries: 0,
    retry_count: l.retriesAttempted,
    backoff_seconds: 0,
    next_retry_after: null,
    last_error: l.success ? null : l.resultMessage,
    last_error_at: l.success ? null : iso(l.completedAt),
    created_at: iso(l.createdAt),
    updated_at: iso(l.completedAt),
  };
}

export function workOrderLogJson(l: WorkOrderLogRow) {
  return {
    id: l.id,
    work_type: l.workType,
    yaml_content: l.yamlContent,
    success: l.success,
    retries_attempted: l.retriesAttempted,
    result_message: l.resultMessage,
    claimed_by: l.claimedBy,
    claimed_at: iso(l.claimedAt),
    created_at: iso(l.createdAt),
    completed_at: iso(l.completedAt),
  };
}

const int = z.number().int();
const newWorkOrder = z.object({
  work_type: z.string(),
  yaml_content: z.string(),
  max_retries: int.nullish(),
  backoff_seconds: int.nullish(),
  claim_timeout_seconds: int.nullish(),
  targeting: z
    .object({
      agent_ids: z.array(uuid).nullish(),
      labels: z.array(z.string()).nullish(),
      annotations: z.record(z.string(), z.string()).nullish(),
    })
    .nullish(),
  // Brokkr's deprecated form, still accepted (joined to targeting.agent_ids).
  target_agent_ids: z.array(uuid).nullish(),
});
const STATUSES: readonly string[] = ["PENDING", "CLAIMED", "RETRY_PENDING"];
const booleanQuery = z.enum(["true", "false"]).transform((v) => v === "true");
/** Brokkr's lists are unpaginated; ours stop at this many rows (README). */
const MAX_ROWS = 10_000;

export const workOrderRoutes = [
  route({
    op: "list_work_orders",
    roles: ["ADMIN"],
    query: z.object({ status: z.string().optional(), work_type: z.string().optional() }),
    handle: async ({ who, query, deps }) => {
      // Brokkr filters by any string: an unknown status matches nothing.
      if (query.status !== undefined && !STATUSES.includes(query.status)) return ok([]);
      const filter = { status: query.status as WorkOrderStatus | undefined, workType: query.work_type };
      return ok((await allPages((page) => workOrders.listWorkOrders(deps.db, who, filter, page))).map(workOrderJson));
    },
  }),
  route({
    op: "create_work_order",
    roles: ["ADMIN"],
    body: newWorkOrder,
    handle: async ({ who, body, deps }) => {
      const t = body.targeting;
      const order = await workOrders.createWorkOrder(
        deps.db,
        who,
        {
          workType: body.work_type,
          yamlContent: body.yaml_content,
          maxRetries: body.max_retries,
          backoffSeconds: body.backoff_seconds,
          claimTimeoutSeconds: body.claim_timeout_seconds,
          targeting: {
            agentIds: [...(t?.agent_ids ?? []), ...(body.target_agent_ids ?? [])],
            labels: t?.labels,
            annotations: Object.entries(t?.annotations ?? {}).map(([key, value]) => ({ key, value })),
          },
        },
        deps.limits,
      );
      return created(workOrderJson(order));
    },
  }),
  route({
    op: "get_work_order",
    roles: ["ADMIN"],
    params: idParams,
    handle: async ({ who, params, deps }) => {
      const found = await workOrders.findQueuedOrLogged(deps.db, who, params.id);
      return ok("order" in found ? workOrderJson(found.order) : loggedWorkOrderJson(found.logged));
    },
  }),
  route({
    op: "delete_work_order",
    roles: ["ADMIN"],
    params: idParams,
    handle: async ({ who, params, deps }) => {
      await workOrders.deleteWorkOrder(deps.db, who, params.id);
      return noContent();
    },
  }),
  route({
    op: "list_pending_for_agent",
    roles: ["ADMIN", "AGENT"],
    params: z.object({ agent_id: uuid }),
    query: z.object({ work_type: z.string().optional() }),
    handle: async ({ who, params, query, deps }) =>
      ok((await workOrders.listPending(deps.db, who, params.agent_id, query.work_type)).map(workOrderJson)),
  }),
  route({
    op: "claim_work_order",
    roles: ["ADMIN", "AGENT"],
    params: idParams,
    body: z.object({ agent_id: uuid }),
    handle: async ({ who, params, body, deps }) =>
      ok(workOrderJson(await workOrders.claimWorkOrder(deps.db, who, params.id, body.agent_id))),
  }),
  route({
    op: "complete_work_order",
    roles: ["ADMIN", "AGENT"],
    params: idParams,
    body: z.object({ success: z.boolean(), message: z.string().nullish(), retryable: z.boolean().optional() }),
    handle: async ({ who, params, body, deps }) => {
      const done = await workOrders.completeWorkOrder(deps.db, who, { id: params.id, ...body });
      // Brokkr answers a scheduled retry with 202 and this body; its spec omits the 202 (reference §1.8).
      if (done.outcome === "RETRY_SCHEDULED") return { status: 202, body: { status: "retry_scheduled" } };
      return ok(workOrderLogJson(done.logEntry));
    },
  }),
  route({
    op: "list_work_order_log",
    roles: ["ADMIN"],
    query: z.object({
      work_type: z.string().optional(),
      success: booleanQuery.optional(),
      agent_id: uuid.optional(),
      limit: z.coerce.number().int().min(1).optional(),
    }),
    handle: async ({ who, query, deps }) => {
      const filter = { workType: query.work_type, success: query.success, agentId: query.agent_id };
      const limit = Math.min(query.limit ?? MAX_ROWS, MAX_ROWS);
      const rows: WorkOrderLogRow[] = [];
      let after: string | undefined;
      while (rows.length < limit) {
        const conn = await workOrders.listLog(deps.db, who, filter, {
          first: Math.min(MAX_PAGE_SIZE, limit - rows.length),
          after,
        });
        rows.push(...conn.edges.map((e) => e.node));
        if (!conn.pageInfo.hasNextPage || !conn.pageInfo.endCursor) break;
        after = conn.pageInfo.endCursor;
      }
      return ok(rows.map(workOrderLogJson));
    },
  }),
  route({
    op: "get_work_order_log",
    roles: ["ADMIN"],
    params: idParams,
    handle: async ({ who, params, deps }) => ok(workOrderLogJson(await workOrders.getLogEntry(deps.db, who, params.id))),
  }),
];
