import { findAgent } from "../agents/store.js";
import { agentReceives } from "../associations/service.js";
import type { Identity } from "../auth/identity.js";
import { missingOrHidden } from "../auth/policy.js";
import { inTransaction, type Database, type Db } from "../db/client.js";
import { BrokkrError, badInput, forbidden, fromDatabaseError, notFound } from "../errors.js";
import { decodeNumberIdCursor, encodeCursor, toConnection, type Page } from "../graphql/pagination.js";
import { LIMITS, optionalText, requireId } from "../validation.js";
import * as store from "./store.js";
import type { DiagnosticRequestRow, DiagnosticStatus } from "./store.js";

/** Brokkr's retention bounds and default, in minutes. */
export const RETENTION = { min: 1, max: 1440, default: 60 } as const;
/** Each JSON text of a result (pod statuses, events, log tails); the table checks the same. */
export const MAX_RESULT_FIELD_BYTES = 1024 * 1024;
/** Pending requests handed to an agent per poll (and per subscription replay). */
export const MAX_PENDING = 100;

export interface RequestDiagnosticsInput {
  deploymentObjectId: string;
  agentId: string;
  requestedBy?: string | null;
  retentionMinutes?: number | null;
}

export interface SubmitResultInput {
  podStatuses: string;
  events: string;
  logTails?: string | null;
  collectedAt: Date | string;
}

const conflict = (reason: string, message: string) => new BrokkrError("CONFLICT", message, undefined, reason);

function requireRetention(field: string, value: number | null | undefined): number {
  const minutes = value ?? RETENTION.default;
  if (!Number.isInteger(minutes) || minutes < RETENTION.min || minutes > RETENTION.max)
    throw badInput(field, `${field} must be a whole number of minutes from ${RETENTION.min} to ${RETENTION.max}`);
  return minutes;
}

/** The admin asks an agent for diagnostics of a live deployment object. */
export async function requestDiagnostics(db: Database, identity: Identity, input: RequestDiagnosticsInput) {
  if (identity.role !== "ADMIN") throw forbidden("only the admin requests diagnostics");
  const deploymentObjectId = requireId("deploymentObjectId", input.deploymentObjectId);
  const agentId = requireId("agentId", input.agentId);
  const retentionMinutes = requireRetention("retentionMinutes", input.retentionMinutes);
  const requestedBy = optionalText("requestedBy", input.requestedBy, LIMITS.name) ?? null;
  const agent = await findAgent(db, agentId);
  if (!agent) throw notFound("agent");
  try {
    const row = await store.insertRequest(db, { agentId, deploymentObjectId, requestedBy, retentionMinutes });
    if (!row) throw notFound("deployment object");
    return row;
  } catch (err) {
    throw fromDatabaseError(err);
  }
}

/** A request the caller may read: the admin any, an agent its own; anyone else is refused. */
export async function getDiagnostic(db: Db, identity: Identity, id: string, field = "id"): Promise<DiagnosticRequestRow> {
  if (identity.role === "GENERATOR") throw forbidden("diagnostics are the admin's and the agent's");
  const row = await store.findRequest(db, requireId(field, id));
  if (!row || (identity.role === "AGENT" && row.agentId !== identity.id)) throw missingOrHidden(identity, "diagnostic request");
  return row;
}

export interface ListFilter {
  agentId?: string | null;
  deploymentObjectId?: string | null;
  status?: DiagnosticStatus | null;
}

export async function listDiagnosticRequests(db: Db, identity: Identity, filter: ListFilter, page: Page) {
  if (identity.role === "GENERATOR") throw forbidden("diagnostics are the admin's and the agent's");
  const agentId = filter.agentId ? requireId("filter.agentId", filter.agentId) : undefined;
  if (identity.role === "AGENT" && agentId && agentId !== identity.id) throw forbidden("an agent lists only its own requests");
  const rows = await store.listRequests(
    db,
    {
      agentId: identity.role === "AGENT" ? identity.id : agentId,
      deploymentObjectId: filter.deploymentObjectId
        ? requireId("filter.deploymentObjectId", filter.deploymentObjectId)
        : undefined,
      status: filter.status ?? undefined,
      before: page.after ? decodeNumberIdCursor(page.after) : undefined,
    },
    page.first + 1,
  );
  return toConnection(rows, page.first, (r) => encodeCursor([r.micros, r.id]));
}

/** The agent's own pending requests (get_pending_diagnostics); nobody else's, not even the admin's view. */
export async function pendingDiagnostics(db: Db, identity: Identity, agentId: string) {
  const id = requireId("id", agentId);
  if (identity.role !== "AGENT" || identity.id !== id) throw forbidden("an agent reads only its own pending diagnostics");
  return store.pendingOfAgent(db, id, MAX_PENDING);
}

/** The calling agent, which must be live and ACTIVE to take part in diagnostics. */
export async function assertActiveAgent(db: Db, identity: Identity): Promise<string> {
  if (identity.role !== "AGENT") throw forbidden("only an agent claims and answers diagnostics");
  const agent = await findAgent(db, identity.id);
  if (!agent || !agentReceives(agent)) throw forbidden("the agent is not active", "agent_not_active");
  return agent.id;
}

/** Why a conditional update matched nothing, as the caller should hear it. */
function refusal(identity: Identity, row: DiagnosticRequestRow | null, expected: "pending" | "claimed"): BrokkrError {
  if (!row || row.agentId !== identity.id) return missingOrHidden(identity, "diagnostic request");
  if (row.status === "expired" || row.status === "failed" || row.expiresAt <= new Date())
    return conflict("diagnostic_expired", `the diagnostic request expired at ${row.expiresAt.toISOString()}`);
  if (expected === "pending") return conflict("diagnostic_already_claimed", `the diagnostic request is ${row.status}`);
  if (row.status === "pending") return conflict("diagnostic_not_claimed", "claim the diagnostic request before submitting");
  return conflict("diagnostic_result_exists", "a result was already submitted for this diagnostic request");
}

/** pending → claimed by its own active agent; a second claim, or one after expiry, is CONFLICT. */
export async function claimDiagnostic(db: Db, identity: Identity, id: string, field = "id") {
  const requestId = requireId(field, id);
  const agentId = await assertActiveAgent(db, identity);
  if (!(await store.claimRequest(db, requestId, agentId)))
    throw refusal(identity, await store.findRequest(db, requestId), "pending");
  const row = await store.findRequest(db, requestId);
  if (!row) throw notFound("diagnostic request");
  return row;
}

function requireJsonText(field: string, value: string | null | undefined, optional: boolean): string | null {
  if (value === undefined || value === null) {
    if (optional) return null;
    throw badInput(field, `${field} is required`);
  }
  if (Buffer.byteLength(value, "utf8") > MAX_RESULT_FIELD_BYTES)
    throw badInput(field, `${field} must be at most ${MAX_RESULT_FIELD_BYTES} bytes`);
  try {
    JSON.parse(value);
  } catch {
    throw badInput(field, `${field} must be JSON-encoded text`);
  }
  return value;
}

function requireCollectedAt(value: Date | string): Date {
  const at = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(at.getTime())) throw badInput("collectedAt", "collectedAt must be an ISO-8601 date-time");
  return at;
}

/** claimed → completed with its one result, in one transaction; a second submission is CONFLICT. */
export async function submitDiagnosticResult(db: Database, identity: Identity, id: string, input: SubmitResultInput) {
  const requestId = requireId("id", id);
  // Authorized (an ACTIVE agent) before up to 3 MiB of JSON is parsed.
  const agentId = await assertActiveAgent(db, identity);
  const data = {
    requestId,
    podStatuses: requireJsonText("podStatuses", input.podStatuses, false) as string,
    events: requireJsonText("events", input.events, false) as string,
    logTails: requireJsonText("logTails", input.logTails, true),
    collectedAt: requireCollectedAt(input.collectedAt),
  };
  try {
    return await inTransaction(db, async (tx) => {
      if (!(await store.completeRequest(tx, requestId, agentId)))
        throw refusal(identity, await store.findRequest(tx, requestId), "claimed");
      return store.insertResult(tx, data);
    });
  } catch (err) {
    const e = fromDatabaseError(err, "a result was already submitted for this diagnostic request");
    // Two submissions racing past the status check: the result's UNIQUE request_id decides.
    throw e instanceof BrokkrError && e.reason === "unique_violation"
      ? conflict("diagnostic_result_exists", "a result was already submitted for this diagnostic request")
      : e;
  }
}
