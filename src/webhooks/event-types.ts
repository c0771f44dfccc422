/*
 * Every event type the broker publishes (Brokkr's, reference §1.6, plus the changes Brokkr does
 * not tell of). Triggers write them into domain_events: migration 0013 for the core tables, 0017
 * for work orders and diagnostics.
 */
export const EVENT_TYPES = [
  "agent.registered",
  "agent.deregistered",
  "agent.status_changed",
  "generator.created",
  "generator.deleted",
  "stack.created",
  "stack.updated",
  "stack.deleted",
  "stack.targeted",
  "stack.untargeted",
  "deployment.created",
  "deployment.applied",
  "deployment.failed",
  "deployment.deleted",
  "workorder.created",
  "workorder.claimed",
  "workorder.completed",
  "workorder.failed",
  "diagnostic.requested",
  "diagnostic.completed",
  "diagnostic.failed",
  "diagnostic.expired",
  // Release orchestration: written by src/promotions in the transaction of the decision.
  "promotion.requested",
  "promotion.approved",
  "promotion.rejected",
  // Written by src/stickers/service.ts in the drift report's transaction.
  "release.drift_detected",
  "release.drift_resolved",
  "promotion.deployed",
  "promotion.failed",
  "promotion.rolled_back",
  "release.created",
  "release.status_changed",
] as const;

/** Sent by `POST /webhooks/{id}/test` (testWebhookSubscription) to that subscription only. */
export const TEST_EVENT_TYPE = "webhook.test";

const PATTERN = /^(\*|[a-z_]+(\.[a-z_]+)*(\.\*)?)$/;

/** As brokkr_event_type_matches in SQL: `*`, an exact type, or a prefix wildcard `deployment.*`. */
export function patternMatches(pattern: string, eventType: string): boolean {
  if (pattern === "*" || pattern === eventType) return true;
  return pattern.endsWith(".*") && eventType.startsWith(pattern.slice(0, -1));
}

/** Whether a pattern is well formed and matches at least one published type. */
export function isUsefulPattern(pattern: string): boolean {
  return PATTERN.test(pattern) && EVENT_TYPES.some((type) => patternMatches(pattern, type));
}
