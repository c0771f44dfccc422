import { z } from "zod";
import * as diagnostics from "../diagnostics/service.js";
import type { DiagnosticRequestRow, DiagnosticResultRow } from "../diagnostics/store.js";
import { resultsOfRequests } from "../diagnostics/store.js";
import { created, idParams, ok, route, uuid } from "./route.js";

// Brokkr v1 wire shapes of diagnostics (snake_case; status lower-case as Brokkr stores it).
export function diagnosticRequestJson(r: DiagnosticRequestRow) {
  return {
    id: r.id,
    agent_id: r.agentId,
    deployment_object_id: r.deploymentObjectId,
    status: r.status,
    requested_by: r.requestedBy,
    created_at: r.createdAt.toISOString(),
    claimed_at: r.claimedAt?.toISOString() ?? null,
    completed_at: r.completedAt?.toISOString() ?? null,
    expires_at: r.expiresAt.toISOString(),
  };
}

export function diagnosticResultJson(r: DiagnosticResultRow) {
  return {
    id: r.id,
    request_id: r.requestId,
    pod_statuses: r.podStatuses,
    events: r.events,
    log_tails: r.logTails,
    collected_at: r.collectedAt.toISOString(),
    created_at: r.createdAt.toISOString(),
  };
}

const createBody = z.object({
  agent_id: uuid,
  requested_by: z.string().nullish(),
  retention_minutes: z.number().int().nullish(),
});

const resultBody = z.object({
  pod_statuses: z.string(),
  events: z.string(),
  log_tails: z.string().nullish(),
  collected_at: z.string(),
});

export const diagnosticRoutes = [
  route({
    op: "create_diagnostic_request",
    roles: ["ADMIN"],
    params: idParams,
    body: createBody,
    handle: async ({ who, params, body, deps }) =>
      created(
        diagnosticRequestJson(
          await diagnostics.requestDiagnostics(deps.db, who, {
            deploymentObjectId: params.id,
            agentId: body.agent_id,
            requestedBy: body.requested_by,
            retentionMinutes: body.retention_minutes,
          }),
        ),
      ),
  }),
  route({
    op: "get_diagnostic",
    roles: ["ADMIN", "AGENT"],
    params: idParams,
    handle: async ({ who, params, deps }) => {
      const request = await diagnostics.getDiagnostic(deps.db, who, params.id);
      const [result] = request.status === "completed" ? await resultsOfRequests(deps.db, [request.id]) : [];
      return ok({ request: diagnosticRequestJson(request), ...(result ? { result: diagnosticResultJson(result) } : {}) });
    },
  }),
  route({
    op: "claim_diagnostic",
    roles: ["AGENT"],
    params: idParams,
    handle: async ({ who, params, deps }) =>
      ok(diagnosticRequestJson(await diagnostics.claimDiagnostic(deps.db, who, params.id))),
  }),
  route({
    op: "submit_diagnostic_result",
    roles: ["AGENT"],
    params: idParams,
    body: resultBody,
    handle: async ({ who, params, body, deps }) =>
      created(
        diagnosticResultJson(
          await diagnostics.submitDiagnosticResult(deps.db, who, params.id, {
            podStatuses: body.pod_statuses,
            events: body.events,
            logTails: body.log_tails,
            collectedAt: body.collected_at,
          }),
        ),
      ),
  }),
  route({
    op: "get_pending_diagnostics",
    roles: ["AGENT"],
    params: idParams,
    handle: async ({ who, params, deps }) =>
      ok((await diagnostics.pendingDiagnostics(deps.db, who, params.id)).map(diagnosticRequestJson)),
  }),
];
