import { agentReceives } from "../associations/service.js";
import type { Identity } from "../auth/identity.js";
import { requireAdmin } from "../auth/policy.js";
import { findAgent } from "../agents/store.js";
import { inTransaction, type Database, type Db } from "../db/client.js";
import { validateManifestYaml } from "../deployment-objects/yaml.js";
import { BrokkrError, forbidden, sqlState } from "../errors.js";
import { encodeCursor, toConnection, type Page } from "../graphql/pagination.js";
import {
  type InputLimits,
  LIMITS,
  optionalText,
  requireAnnotations,
  requireId,
  requireLabels,
  requireList,
  requireText,
} from "../validation.js";
import * as store from "./store.js";

/** Most pending orders one list or replay returns (the oldest first). */
export const PENDING_LIMIT = 500;
const WORK_TYPE_MAX = 50;

// Brokkr's codes for work-order refusals (its error catalogue), carried as the error's reason.
const invalid = (field: string, message: string) => new BrokkrError("BAD_USER_INPUT", message, field, "invalid_work_order");
const notFound = () => new BrokkrError("NOT_FOUND", "work order not found", undefined, "work_order_not_found");
const notClaimable = () =>
  new BrokkrError("NOT_FOUND", "work order not found or not claimable", undefined, "work_order_not_claimable");
const notClaimedBy = (message: string) => forbidden(message, "work_order_not_claimed_by_agent");

export interface CreateWorkOrderInput {
  workType: string;
  yamlContent: string;
  maxRetries?: number | null;
  backoffSeconds?: number | null;
  claimTimeoutSeconds?: number | null;
  targeting: {
    agentIds?: readonly string[] | null;
    labels?: readonly string[] | null;
    annotations?: readonly { key: string; value: string }[] | null;
  };
}

function boundedInt(field: string, value: number | null | undefined, min: number, max: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max)
    throw invalid(field, `${field} must be an integer from ${min} to ${max}`);
  return value;
}

/** Checks every field first (BAD_USER_INPUT naming it), so nothing is written for bad input. */
function parseNewWorkOrder(input: CreateWorkOrderInput, limits: InputLimits): store.NewWorkOrder {
  const wrap = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof BrokkrError && err.code === "BAD_USER_INPUT" && !err.reason)
        throw invalid(err.field ?? "input", err.message);
      throw err;
    }
  };
  const workType = wrap(() => requireText("workType", input.workType, WORK_TYPE_MAX));
  wrap(() => validateManifestYaml(input.yamlContent, limits, "yamlContent"));
  const agentIds = [...new Set(wrap(() => requireList("targeting.agentIds", input.targeting.agentIds, requireId)))];
  const labels = [...new Set(wrap(() => requireLabels("targeting.labels", input.targeting.labels)))];
  const annotations = wrap(() => requireAnnotations("targeting.annotations", input.targeting.annotations));
  if (agentIds.length + labels.length + annotations.length === 0)
    throw new BrokkrError(
      "BAD_USER_INPUT",
      "at least one targeting method must be specified (agent_ids, labels, or annotations)",
      "targeting",
      "no_targeting_specified",
    );
  return {
    workType,
    yamlContent: input.yamlContent,
    maxRetries: boundedInt("maxRetries", input.maxRetries, 0, 100),
    backoffSeconds: boundedInt("backoffSeconds", input.backoffSeconds, 1, 86_400),
    claimTimeoutSeconds: boundedInt("claimTimeoutSeconds", input.claimTimeoutSeconds, 1, 604_800),
    agentIds,
    labels,
    // One (key, value) pair once: the table's unique key.
    annotations: [...new Map(annotations.map((a) => [`${a.key}\0${a.value}`, a])).values()],
  };
}

/** Admin only; one transaction (Brokkr inserts the order, then its targets, and compensates). */
export async function createWorkOrder(db: Database, identity: Identity, input: CreateWorkOrderInput, limits: InputLimits) {
  requireAdmin(identity);
  const order = parseNewWorkOrder(input, limits);
  try {
    return await inTransaction(db, (tx) => store.insertWorkOrder(tx, order));
  } catch (err) {
    // The only foreign key a caller names: a target agent that does not exist.
    if (sqlState(err) === "23503") throw new BrokkrError("NOT_FOUND", "agent not found", "targeting.agentIds", "agent_not_found");
    throw err;
  }
}

export async function deleteWorkOrder(db: Db, identity: Identity, id: string) {
  requireAdmin(identity);
  if (!(await store.deleteWorkOrder(db, requireId("id", id)))) throw notFound();
  return { deletedId: id };
}

/** The admin reads any order; an agent one targeted at it or claimed by it; a generator none. */
export async function getWorkOrder(db: Db, identity: Identity, id: string) {
  if (identity.role === "GENERATOR") throw forbidden();
  const order = await store.findWorkOrder(db, requireId("id", id));
  if (identity.role === "ADMIN") {
    if (!order) throw notFound();
    return order;
  }
  if (!order || !(order.claimedBy === identity.id || (await store.isTargetedAt(db, order.id, identity.id)))) throw forbidden();
  return order;
}

/** A keyset page of (row, created/completed micros) as a connection of rows. */
function connectionOf<T extends { id: string }>(rows: { row: T; micros: string }[], first: number) {
  const conn = toConnection(rows, first, (r) => encodeCursor([r.micros, r.row.id]));
  return { ...conn, edges: conn.edges.map((e) => ({ node: e.node.row, cursor: e.cursor })) };
}

/**
 * Brokkr's GET /work-orders/{id}: the queued order, else a finished one from the log (which
 * Brokkr's REST shows as a WorkOrder with status COMPLETED or FAILED). Admin only.
 */
export async function findQueuedOrLogged(
  db: Db,
  identity: Identity,
  id: string,
): Promise<{ order: store.WorkOrderModel } | { logged: store.WorkOrderLogRow }> {
  requireAdmin(identity);
  const order = await store.findWorkOrder(db, requireId("id", id));
  if (order) return { order };
  const logged = await store.findLogEntry(db, id);
  if (!logged) throw notFound();
  return { logged };
}

export async function listWorkOrders(
  db: Db,
  identity: Identity,
  filter: { status?: store.WorkOrderStatus; workType?: string },
  page: Page,
) {
  requireAdmin(identity);
  return connectionOf(await store.listWorkOrders(db, filter, page), page.first);
}

export async function listLog(
  db: Db,
  identity: Identity,
  filter: { workType?: string; success?: boolean; agentId?: string },
  page: Page,
) {
  requireAdmin(identity);
  const agentId = filter.agentId ? requireId("agentId", filter.agentId) : undefined;
  return connectionOf(await store.listLog(db, { ...filter, agentId }, page), page.first);
}

export async function getLogEntry(db: Db, identity: Identity, id: string) {
  requireAdmin(identity);
  const entry = await store.findLogEntry(db, requireId("id", id));
  if (!entry) throw new BrokkrError("NOT_FOUND", "work order log entry not found", undefined, "work_order_log_entry_not_found");
  return entry;
}

/** The agent a caller acts for: itself, or the one the admin names. */
function actingAgentId(identity: Identity, agentId: string | null | undefined, field: string): string {
  if (identity.role === "GENERATOR") throw forbidden();
  if (identity.role === "AGENT" && agentId && agentId !== identity.id)
    throw forbidden("agent PAK does not match the agent id", "agent_pak_mismatch");
  const id = identity.role === "AGENT" ? identity.id : agentId;
  if (!id) throw new BrokkrError("BAD_USER_INPUT", `${field} is required for the admin`, field, "missing_agent_id");
  return requireId(field, id);
}

async function workingAgent(db: Db, identity: Identity, agentId: string | null | undefined, field = "agentId") {
  const agent = await findAgent(db, actingAgentId(identity, agentId, field));
  if (!agent) throw new BrokkrError("NOT_FOUND", "agent not found", field, "agent_not_found");
  return agent;
}

/** The pending orders the agent may claim, oldest first; none while it does not receive (INACTIVE). */
export async function listPending(db: Db, identity: Identity, agentId: string, workType?: string | null, limit = PENDING_LIMIT) {
  // An unknown agent has nothing pending (Brokkr's list answers 200 for any id).
  const agent = await findAgent(db, actingAgentId(identity, agentId, "agentId"));
  if (!agent || !agentReceives(agent)) return [];
  const type = workType ? requireText("workType", workType, WORK_TYPE_MAX) : undefined;
  return store.pendingForAgent(db, agent.id, type, limit);
}

/** Exactly one of concurrent claims wins; the others get 404 work_order_not_claimable (Brokkr). */
export async function claimWorkOrder(db: Db, identity: Identity, id: string, agentId?: string | null) {
  const orderId = requireId("id", id);
  const agent = await workingAgent(db, identity, agentId);
  if (!agentReceives(agent)) throw forbidden("the agent is not active", "agent_not_active");
  if (!(await store.claim(db, orderId, agent.id))) throw notClaimable();
  return (await store.findWorkOrder(db, orderId)) ?? Promise.reject(notClaimable());
}

export interface CompleteWorkOrderInput {
  id: string;
  success: boolean;
  message?: string | null;
  retryable?: boolean | null;
}

export type Completion =
  | { outcome: "SUCCEEDED" | "FAILED"; logEntry: store.WorkOrderLogRow; workOrder: null }
  | { outcome: "RETRY_SCHEDULED"; logEntry: null; workOrder: store.WorkOrderModel };

/**
 * Success moves the order to the log; a failure is retried with backoff unless it is not
 * retryable or out of retries, when it is logged as failed. Only a CLAIMED order can complete,
 * by its claimant (or the admin): the row is locked, so maintenance cannot requeue it meanwhile.
 */
export async function completeWorkOrder(db: Database, identity: Identity, input: CompleteWorkOrderInput): Promise<Completion> {
  if (identity.role === "GENERATOR") throw forbidden();
  const id = requireId("id", input.id);
  const message = optionalText("message", input.message, LIMITS.eventMessage) ?? null;
  const done = await inTransaction(db, async (tx): Promise<Completion | "retry"> => {
    const order = await store.lockWorkOrder(tx, id);
    if (!order) throw notFound();
    if (identity.role === "AGENT" && order.claimedBy !== identity.id)
      throw notClaimedBy("work order is not claimed by this agent");
    if (order.status !== "CLAIMED") throw notClaimedBy("work order is not claimed");
    if (input.success)
      return { outcome: "SUCCEEDED", logEntry: await store.moveToLog(tx, order, true, message), workOrder: null };
    const error = message ?? "Unknown error";
    if (input.retryable === false || order.retryCount + 1 > order.maxRetries)
      return { outcome: "FAILED", logEntry: await store.moveToLog(tx, order, false, error), workOrder: null };
    await store.scheduleRetry(tx, id, error);
    return "retry";
  });
  if (done !== "retry") return done;
  const order = await store.findWorkOrder(db, id);
  if (!order) throw notFound();
  return { outcome: "RETRY_SCHEDULED", logEntry: null, workOrder: order };
}

/** The maintenance task's pass (see store.REQUEUE_SQL); returns how many orders it requeued. */
export async function requeueDue(db: Db, batch = 500): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await store.requeueDue(db, batch);
    total += rows.length;
    if (rows.length < batch) return total;
  }
}
