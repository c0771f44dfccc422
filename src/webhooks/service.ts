import { randomUUID } from "node:crypto";
import type { Identity } from "../auth/identity.js";
import { requireAdmin } from "../auth/policy.js";
import { inTransaction, type Database } from "../db/client.js";
import { badInput, notFound } from "../errors.js";
import { requireId } from "../validation.js";
import { newSigningSecret, type Cipher } from "./crypto.js";
import * as input from "./input.js";
import type { SubscriptionInput } from "./input.js";
import * as store from "./store.js";
import type { SubscriptionRow, SubscriptionWrite } from "./store.js";

/** What the webhooks domain needs from the broker. */
export interface WebhookDeps {
  db: Database;
  cipher: () => Promise<Cipher>;
  retryBaseMs: number;
}

/** A subscription as callers see it: no URL, auth header or secret, only whether they are set. */
export interface SubscriptionView {
  id: string;
  seq: bigint;
  name: string;
  eventTypes: string[];
  filters: { agentId: string | null; stackId: string | null };
  targetLabels: string[] | null;
  enabled: boolean;
  maxRetries: number;
  timeoutSeconds: number;
  hasUrl: boolean;
  hasAuthHeader: boolean;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export function viewOf(row: SubscriptionRow): SubscriptionView {
  return {
    id: row.id,
    seq: row.seq,
    name: row.name,
    eventTypes: row.event_types,
    filters: { agentId: row.filter_agent_id, stackId: row.filter_stack_id },
    targetLabels: row.target_labels,
    enabled: row.enabled,
    maxRetries: row.max_retries,
    timeoutSeconds: row.timeout_seconds,
    hasUrl: row.url_encrypted !== "",
    hasAuthHeader: row.auth_header_encrypted !== null,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const seal = (cipher: Cipher, id: string, column: string, plain: string) => cipher.encrypt(plain, `${id}:${column}`);

/** The settings of `given` laid over `base` (a new subscription's defaults, or the stored row). */
function merge(cipher: Cipher, base: SubscriptionWrite, given: SubscriptionInput): SubscriptionWrite {
  const next = { ...base };
  const id = base.id;
  if (given.name != null) next.name = input.requireName("name", given.name);
  if (given.url != null) next.url_encrypted = seal(cipher, id, "url", input.requireWebhookUrl("url", given.url));
  if (given.eventTypes != null) next.event_types = input.requireEventTypes("eventTypes", given.eventTypes);
  if (given.authHeader !== undefined)
    next.auth_header_encrypted =
      given.authHeader === null ? null : seal(cipher, id, "auth_header", input.requireAuthHeader("authHeader", given.authHeader));
  if (given.secret != null) next.secret_encrypted = seal(cipher, id, "secret", input.requireSecret("secret", given.secret));
  if (given.filters !== undefined) {
    const f = given.filters === null ? { agentId: null, stackId: null } : input.requireFilters("filters", given.filters);
    next.filter_agent_id = f.agentId;
    next.filter_stack_id = f.stackId;
  }
  if (given.targetLabels !== undefined)
    next.target_labels = given.targetLabels === null ? null : input.requireTargetLabels("targetLabels", given.targetLabels);
  if (given.enabled != null) next.enabled = given.enabled;
  if (given.maxRetries != null) next.max_retries = input.requireInRange("maxRetries", given.maxRetries, input.RANGES.maxRetries);
  if (given.timeoutSeconds != null)
    next.timeout_seconds = input.requireInRange("timeoutSeconds", given.timeoutSeconds, input.RANGES.timeoutSeconds);
  return next;
}

/**
 * Creates a subscription. Without a caller-chosen secret one is generated and returned here
 * once (`generatedSecret`), as a PAK is shown once; it is never readable again.
 */
export async function createSubscription(deps: WebhookDeps, identity: Identity | null, given: SubscriptionInput) {
  requireAdmin(identity);
  if (given.name == null) throw badInput("name", "name is required");
  if (given.url == null) throw badInput("url", "url is required");
  if (given.eventTypes == null) throw badInput("eventTypes", "eventTypes is required");
  const cipher = await deps.cipher();
  const id = randomUUID();
  const generatedSecret = given.secret == null ? newSigningSecret() : null;
  const base: SubscriptionWrite = {
    id,
    name: "",
    url_encrypted: "",
    auth_header_encrypted: null,
    secret_encrypted: seal(cipher, id, "secret", generatedSecret ?? ""),
    event_types: [],
    filter_agent_id: null,
    filter_stack_id: null,
    target_labels: null,
    enabled: true,
    max_retries: input.RANGES.maxRetries.default,
    timeout_seconds: input.RANGES.timeoutSeconds.default,
  };
  const row = await store.insertSubscription(deps.db, merge(cipher, base, given), "admin");
  return { subscription: viewOf(row), generatedSecret };
}

export async function getSubscription(deps: WebhookDeps, identity: Identity | null, id: string): Promise<SubscriptionView> {
  requireAdmin(identity);
  const row = await store.findSubscription(deps.db, requireId("id", id));
  if (!row) throw notFound("webhook subscription");
  return viewOf(row);
}

export async function listSubscriptions(
  deps: WebhookDeps,
  identity: Identity | null,
  limit: number,
  afterSeq?: bigint,
): Promise<SubscriptionView[]> {
  requireAdmin(identity);
  return (await store.listSubscriptions(deps.db, limit, afterSeq)).map(viewOf);
}

export async function updateSubscription(
  deps: WebhookDeps,
  identity: Identity | null,
  id: string,
  given: SubscriptionInput,
): Promise<SubscriptionView> {
  requireAdmin(identity);
  const cipher = await deps.cipher();
  return inTransaction(deps.db, async (tx) => {
    const row = await store.findSubscription(tx, requireId("id", id), true);
    if (!row) throw notFound("webhook subscription");
    return viewOf(await store.updateSubscription(tx, merge(cipher, row, given)));
  });
}

export async function deleteSubscription(deps: WebhookDeps, identity: Identity | null, id: string): Promise<void> {
  requireAdmin(identity);
  if (!(await store.deleteSubscription(deps.db, requireId("id", id)))) throw notFound("webhook subscription");
}
