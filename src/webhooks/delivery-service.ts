import { randomUUID } from "node:crypto";
import type { Identity } from "../auth/identity.js";
import { assertAgentSelfOrAdmin, requireAdmin, requireRole } from "../auth/policy.js";
import { BrokkrError, notFound } from "../errors.js";
import { requireId } from "../validation.js";
import { DecryptError } from "./crypto.js";
import { attemptDelivery, deliveryHeaders, openClaim, type AttemptResult } from "./deliver.js";
import { listDeliveries, type DeliveryFilter } from "./delivery-queries.js";
import { claimDue, findAgentClaim, insertClaimed, recordAttempts, type DeliveryRow } from "./delivery-store.js";
import { TEST_EVENT_TYPE } from "./event-types.js";
import { nextAfter } from "./retry-policy.js";
import type { WebhookDeps } from "./service.js";
import { findSubscription } from "./store.js";

/** An agent takes at most this many deliveries per poll (as Brokkr). */
export const AGENT_CLAIM_LIMIT = 10;
const MAX_ERROR_CHARS = 1024;

export const DELIVERY_STATUSES = ["pending", "acquired", "success", "failed", "dead"] as const;

/** Sends a `webhook.test` event to one subscription now, as one recorded attempt without retries. */
export async function testSubscription(deps: WebhookDeps, identity: Identity | null, id: string): Promise<AttemptResult> {
  requireAdmin(identity);
  const sub = await findSubscription(deps.db, requireId("id", id));
  if (!sub) throw notFound("webhook subscription");
  const eventId = randomUUID();
  const payload = JSON.stringify({
    id: eventId,
    event_type: TEST_EVENT_TYPE,
    timestamp: new Date().toISOString(),
    data: { subscription_id: sub.id, message: "test delivery from Brokkr-TS" },
  });
  const claimed = await insertClaimed(deps.db, sub.id, eventId, TEST_EVENT_TYPE, payload);
  return attemptDelivery(deps.db, await deps.cipher(), claimed, deps.retryBaseMs);
}

export async function deliveriesOf(
  deps: WebhookDeps,
  identity: Identity | null,
  filter: DeliveryFilter,
  page: Parameters<typeof listDeliveries>[2],
): Promise<DeliveryRow[]> {
  requireAdmin(identity);
  if (filter.subscriptionId && !(await findSubscription(deps.db, requireId("subscriptionId", filter.subscriptionId))))
    throw notFound("webhook subscription");
  return listDeliveries(deps.db, filter, page);
}

/** A delivery handed to an agent: what it POSTs, never the signing secret (the signature is made here). */
export interface AgentDelivery {
  id: string;
  subscriptionId: string;
  eventType: string;
  payload: string;
  url: string;
  authHeader: string | null;
  headers: Record<string, string>;
  timeoutSeconds: number;
  maxRetries: number;
  attempts: number;
}

/**
 * Claims the due deliveries routed to this agent (it carries all their target labels) for one
 * attempt each. The agent gets the URL and auth header it must send, and the body with its
 * signature headers precomputed: the signing secret stays in the broker.
 */
export async function claimForAgent(deps: WebhookDeps, identity: Identity, agentId: string): Promise<AgentDelivery[]> {
  assertAgentSelfOrAdmin(identity, agentId);
  const claimed = await claimDue(deps.db, AGENT_CLAIM_LIMIT, agentId);
  const cipher = await deps.cipher();
  const handed: AgentDelivery[] = [];
  for (const row of claimed) {
    try {
      const opened = openClaim(cipher, row);
      handed.push({
        id: row.id,
        subscriptionId: row.subscription_id,
        eventType: row.event_type,
        payload: row.payload,
        url: opened.url,
        authHeader: opened.authHeader,
        headers: deliveryHeaders(row, opened.secret),
        timeoutSeconds: row.timeout_seconds,
        maxRetries: row.max_retries,
        attempts: row.attempts,
      });
    } catch (err) {
      if (!(err instanceof DecryptError)) throw err;
      // Never handed over half-open (say, without its auth header): dead, as in the broker's own path.
      await record(deps, row.id, row.attempts, agentId, { success: false, statusCode: null, error: err.message }, false, 1);
    }
  }
  return handed;
}

export interface ReportedResult {
  success: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs?: number | null;
}

async function record(
  deps: WebhookDeps,
  deliveryId: string,
  attempt: number,
  agentId: string,
  result: ReportedResult,
  retryable: boolean,
  maxRetries: number,
): Promise<boolean> {
  const next = retryable
    ? nextAfter(result.success, result.statusCode, attempt, maxRetries, deps.retryBaseMs)
    : { status: "dead" as const, dueAt: new Date() };
  const recorded = await recordAttempts(deps.db, agentId, [
    {
      deliveryId,
      attempt,
      success: result.success,
      statusCode: result.statusCode,
      error: result.error?.slice(0, MAX_ERROR_CHARS) ?? (result.success ? null : "delivery failed"),
      durationMs: result.durationMs ?? null,
      next,
    },
  ]);
  return recorded.length > 0;
}

/** An agent reports its attempt; only the agent holding the delivery's current claim may. */
export async function reportResult(
  deps: WebhookDeps,
  identity: Identity | null,
  deliveryId: string,
  result: ReportedResult,
): Promise<void> {
  const who = requireRole(identity, "AGENT");
  const claim = await findAgentClaim(deps.db, requireId("id", deliveryId), String(who.id));
  if (!claim) throw notFound("delivery");
  if (!(await record(deps, deliveryId, claim.attempts, String(who.id), result, true, claim.max_retries)))
    throw new BrokkrError("NOT_FOUND", "delivery not found", undefined, "delivery_not_found");
}
