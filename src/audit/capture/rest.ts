import type { Request } from "express";
import type { Identity } from "../../auth/identity.js";
import { actorOf, type AuditEntry, type AuditSink, originColumns } from "../entry.js";
import { camelWords, idCandidates, nestedCandidates, pickResource, resourceTypeOf, restAction } from "./naming.js";
import type { RequestOrigin } from "./origin.js";
import { outcomeOf } from "./outcome.js";
import { redactInput } from "./redact.js";

/** What the router learnt of a request by the time it ended (any of it may be missing on failure). */
export interface RestTrail {
  origin: RequestOrigin;
  who?: Identity;
  body?: unknown;
  reply?: { status: number; body?: unknown };
}

/** POSTs that change nothing. */
const READ_ONLY = new Set(["verify_pak"]);

export const isRestMutation = (method: string, operationId: string) =>
  method !== "GET" && method !== "HEAD" && !READ_ONLY.has(operationId);

/**
 * Runs one REST operation and, when it is a mutation (any non-GET route but verify_pak),
 * records it, succeeded or refused, with what the trail holds. Refusals are rethrown unchanged.
 */
export async function auditedRest(
  audit: AuditSink,
  req: Request,
  operationId: string,
  params: Record<string, string>,
  trail: RestTrail,
  run: () => Promise<void>,
): Promise<void> {
  if (!isRestMutation(req.method, operationId)) return run();
  try {
    await run();
    audit.record(restEntry(req, operationId, params, trail, undefined));
  } catch (err) {
    audit.record(restEntry(req, operationId, params, trail, err ?? new Error("rejected")));
    throw err;
  }
}

export function restEntry(
  req: Pick<Request, "method" | "path" | "query">,
  operationId: string,
  params: Record<string, string>,
  trail: RestTrail,
  err: unknown,
): AuditEntry {
  const action = restAction(operationId);
  const wanted = resourceTypeOf(action);
  const actor = actorOf(trail.who);
  // The path's first segment names its resource: /stacks/{id}/labels is about a stack.
  const first = camelWords(req.path.split("/")[1] ?? "")
    .join("_")
    .replace(/-/g, "_");
  const collection = first.endsWith("s") ? first.slice(0, -1) : first;
  const reply = trail.reply?.body;
  const resource = pickResource(wanted, [
    { type: collection, id: params.id },
    ...idCandidates(params),
    ...idCandidates(trail.body),
    ...(req.method === "POST" && reply && typeof reply === "object"
      ? [{ type: wanted, id: (reply as { id?: unknown }).id }]
      : []),
    ...nestedCandidates(reply),
    { type: actor.actorType, id: actor.actorId },
  ]);
  const o = originColumns(trail.origin);
  return {
    at: new Date(),
    ...actor,
    action,
    resourceType: resource.type,
    resourceId: resource.id,
    details: {
      via: "rest",
      operation: operationId,
      method: req.method,
      params: redactInput(params),
      ...(Object.keys(req.query ?? {}).length > 0 ? { query: redactInput(req.query) } : {}),
      ...(trail.body !== undefined ? { input: redactInput(trail.body) } : {}),
      ...outcomeOf(err),
      ...(trail.reply ? { status: trail.reply.status } : {}),
      ...(resource.ref ? { resource_ref: resource.ref } : {}),
      ...o.extra,
    },
    ipAddress: o.ipAddress,
    userAgent: o.userAgent,
  };
}
