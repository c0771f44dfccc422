import type { AgentDelivery } from "../webhooks/delivery-service.js";
import type { DeliveryRow } from "../webhooks/delivery-store.js";
import type { SubscriptionView } from "../webhooks/service.js";

// Brokkr v1 webhook shapes (snake_case). No URL, auth header or secret: only whether they are set.
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function webhookJson(s: SubscriptionView) {
  return {
    id: s.id,
    name: s.name,
    has_url: s.hasUrl,
    has_auth_header: s.hasAuthHeader,
    event_types: s.eventTypes,
    filters: { agent_id: s.filters.agentId, stack_id: s.filters.stackId },
    target_labels: s.targetLabels,
    enabled: s.enabled,
    max_retries: s.maxRetries,
    timeout_seconds: s.timeoutSeconds,
    created_by: s.createdBy,
    created_at: iso(s.createdAt),
    updated_at: iso(s.updatedAt),
  };
}

/** Brokkr's WebhookDelivery; due_at is its acquired_until while acquired and next_retry_at while failed. */
export function deliveryJson(d: DeliveryRow) {
  return {
    id: d.id,
    subscription_id: d.subscription_id,
    event_type: d.event_type,
    event_id: d.event_id,
    payload: d.payload,
    target_labels: d.target_labels,
    status: d.status,
    acquired_by: d.acquired_by,
    acquired_until: d.status === "acquired" ? iso(d.due_at) : null,
    attempts: d.attempts,
    last_attempt_at: iso(d.last_attempt_at),
    next_retry_at: d.status === "failed" ? iso(d.due_at) : null,
    last_error: d.last_error,
    completed_at: iso(d.completed_at),
    created_at: iso(d.created_at),
  };
}

/**
 * Brokkr's PendingWebhookDelivery, plus `headers`: the signature and event headers the agent
 * sends as they are, computed by the broker, so the agent never holds the signing secret.
 */
export function pendingJson(d: AgentDelivery) {
  return {
    id: d.id,
    subscription_id: d.subscriptionId,
    event_type: d.eventType,
    payload: d.payload,
    url: d.url,
    auth_header: d.authHeader,
    headers: d.headers,
    timeout_seconds: d.timeoutSeconds,
    max_retries: d.maxRetries,
    attempts: d.attempts,
  };
}
