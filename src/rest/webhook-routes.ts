import { z } from "zod";
import { DELIVERY_STATUSES, claimForAgent, deliveriesOf, reportResult, testSubscription } from "../webhooks/delivery-service.js";
import { EVENT_TYPES } from "../webhooks/event-types.js";
import { RANGES, type SubscriptionInput } from "../webhooks/input.js";
import * as webhooks from "../webhooks/service.js";
import { created, idParams, noContent, ok, route, uuid, type Reply } from "./route.js";
import { deliveryJson, pendingJson, webhookJson } from "./webhook-shapes.js";

const int = z.number().int();
const MAX_LISTED = 10_000;
const filters = z.object({ agent_id: uuid.nullish(), stack_id: uuid.nullish(), labels: z.unknown().optional() }).nullish();
const settings = {
  auth_header: z.string().nullish(),
  filters,
  target_labels: z.array(z.string()).nullish(),
  max_retries: int.nullish(),
  timeout_seconds: int.nullish(),
  // Ours, not Brokkr's: a signing secret of the caller's choosing (else one is generated).
  secret: z.string().nullish(),
};
const createBody = z.object({
  name: z.string(),
  url: z.string(),
  event_types: z.array(z.string()),
  validate: z.unknown().optional(),
  ...settings,
});
const updateBody = z.object({
  name: z.string().nullish(),
  url: z.string().nullish(),
  event_types: z.array(z.string()).nullish(),
  enabled: z.boolean().nullish(),
  validate: z.unknown().optional(),
  ...settings,
});
type Body = z.output<typeof updateBody>;

const unprocessable = (code: string, message: string): Reply => ({ status: 422, body: { code, message } });

/** Brokkr's 422s (T-0288): removed fields, and settings out of range. */
function refusedFields(body: Body): Reply | null {
  if (body.validate !== undefined)
    return unprocessable("unsupported_field", "validate was removed; send POST /webhooks/{id}/test instead");
  if (body.filters?.labels !== undefined)
    return unprocessable("unsupported_field", "filters.labels was removed; route deliveries with target_labels");
  for (const [field, range] of [
    ["timeout_seconds", RANGES.timeoutSeconds],
    ["max_retries", RANGES.maxRetries],
  ] as const) {
    const value = body[field];
    if (value != null && (value < range.min || value > range.max))
      return unprocessable("invalid_webhook", `${field} must be from ${range.min} to ${range.max}`);
  }
  return null;
}

/** Brokkr's body onto the service's input: null leaves a setting unchanged, except filters (null clears). */
function inputOf(body: Body): SubscriptionInput {
  return {
    name: body.name,
    url: body.url,
    eventTypes: body.event_types,
    // An empty auth header removes it; an empty target_labels hands delivery back to the broker.
    authHeader: body.auth_header === "" ? null : (body.auth_header ?? undefined),
    secret: body.secret,
    filters:
      body.filters === undefined ? undefined : body.filters && { agentId: body.filters.agent_id, stackId: body.filters.stack_id },
    targetLabels: body.target_labels == null ? undefined : body.target_labels.length === 0 ? null : body.target_labels,
    enabled: body.enabled,
    maxRetries: body.max_retries,
    timeoutSeconds: body.timeout_seconds,
  };
}

const deliveryQuery = z.object({
  status: z.enum(DELIVERY_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});
const resultBody = z.object({
  success: z.boolean(),
  status_code: int.min(100).max(599).nullish(),
  error: z.string().max(16_384).nullish(),
  duration_ms: int.min(0).max(86_400_000).nullish(),
});

// Admin only, as Brokkr's (reference §1.3 webhooks row, §4.8 item 77); the agent pair as there.
export const webhookRoutes = [
  route({
    op: "list_webhooks",
    roles: ["ADMIN"],
    // Brokkr's list is unpaginated; subscriptions are admin-made and few, so one capped read.
    handle: async ({ who, deps }) => ok((await webhooks.listSubscriptions(deps.webhooks, who, MAX_LISTED)).map(webhookJson)),
  }),
  route({
    op: "create_webhook",
    roles: ["ADMIN"],
    body: createBody,
    handle: async ({ who, body, deps }) => {
      const refused = refusedFields(body);
      if (refused) return refused;
      const made = await webhooks.createSubscription(deps.webhooks, who, inputOf(body));
      // A generated secret is shown here once; never again.
      return created({ ...webhookJson(made.subscription), ...(made.generatedSecret ? { secret: made.generatedSecret } : {}) });
    },
  }),
  route({
    op: "list_event_types",
    roles: ["ADMIN"],
    handle: async () => ok([...EVENT_TYPES]),
  }),
  route({
    op: "get_webhook",
    roles: ["ADMIN"],
    params: idParams,
    handle: async ({ who, params, deps }) => ok(webhookJson(await webhooks.getSubscription(deps.webhooks, who, params.id))),
  }),
  route({
    op: "update_webhook",
    roles: ["ADMIN"],
    params: idParams,
    body: updateBody,
    handle: async ({ who, params, body, deps }) =>
      refusedFields(body) ?? ok(webhookJson(await webhooks.updateSubscription(deps.webhooks, who, params.id, inputOf(body)))),
  }),
  route({
    op: "delete_webhook",
    roles: ["ADMIN"],
    params: idParams,
    handle: async ({ who, params, deps }) => {
      await webhooks.deleteSubscription(deps.webhooks, who, params.id);
      return noContent();
    },
  }),
  route({
    op: "list_deliveries",
    roles: ["ADMIN"],
    params: idParams,
    query: deliveryQuery,
    handle: async ({ who, params, query, deps }) =>
      ok(
        (
          await deliveriesOf(
            deps.webhooks,
            who,
            { subscriptionId: params.id, status: query.status },
            { limit: query.limit, offset: query.offset },
          )
        ).map(deliveryJson),
      ),
  }),
  route({
    op: "test_webhook",
    roles: ["ADMIN"],
    params: idParams,
    handle: async ({ who, params, deps }) => {
      const result = await testSubscription(deps.webhooks, who, params.id);
      const details = { status_code: result.statusCode, duration_ms: result.durationMs };
      if (result.success) return ok({ success: true, ...details });
      return { status: 400, body: { code: "test_delivery_failed", message: `test delivery failed: ${result.error}`, details } };
    },
  }),
  route({
    op: "get_pending_agent_webhooks",
    roles: ["ADMIN", "AGENT"],
    params: z.object({ agent_id: uuid }),
    // A claim is a write: an inactive agent receives no deliveries (and no URLs or auth headers).
    agent: "write",
    handle: async ({ who, agent, deps }) => ok((await claimForAgent(deps.webhooks, who, agent.id)).map(pendingJson)),
  }),
  route({
    op: "report_delivery_result",
    roles: ["AGENT"],
    params: idParams,
    body: resultBody,
    handle: async ({ who, params, body, deps }) => {
      await reportResult(deps.webhooks, who, params.id, {
        success: body.success,
        statusCode: body.status_code ?? null,
        error: body.error ?? null,
        durationMs: body.duration_ms ?? null,
      });
      return { status: 200 };
    },
  }),
];
