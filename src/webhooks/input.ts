import { badInput } from "../errors.js";
import { LIMITS, requireId, requireLabel, requireList, requireText } from "../validation.js";
import { isUsefulPattern } from "./event-types.js";

/** Bounds of a subscription's settings (REST answers Brokkr's 422 `invalid_webhook` outside them). */
export const RANGES = {
  maxRetries: { min: 1, max: 20, default: 5 },
  timeoutSeconds: { min: 1, max: 300, default: 30 },
} as const;
const MAX_URL = 2048;
const MAX_AUTH_HEADER = 4096;
const SECRET = { min: 16, max: 256 };

export interface FiltersInput {
  agentId?: string | null;
  stackId?: string | null;
}

/** A subscription's settings as callers give them (GraphQL's camelCase; REST maps onto it). */
export interface SubscriptionInput {
  name?: string | null;
  url?: string | null;
  eventTypes?: readonly string[] | null;
  /** `null` removes it; absent leaves it. */
  authHeader?: string | null;
  secret?: string | null;
  filters?: FiltersInput | null;
  targetLabels?: readonly string[] | null;
  enabled?: boolean | null;
  maxRetries?: number | null;
  timeoutSeconds?: number | null;
}

/** http or https only: a webhook to file:, data: or javascript: is refused, as is a credential in the URL. */
export function requireWebhookUrl(field: string, value: string): string {
  const text = requireText(field, value, MAX_URL);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badInput(field, `${field} is not a valid URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw badInput(field, `${field} must be an http or https URL`);
  if (url.username || url.password) throw badInput(field, `${field} must not carry credentials; use authHeader`);
  return text;
}

/** A header value: no CR or LF, so it cannot smuggle a second header into the request. */
export function requireAuthHeader(field: string, value: string): string {
  const text = requireText(field, value, MAX_AUTH_HEADER);
  if (/[\r\n]/.test(text) || !/^[\t\x20-\x7e\x80-\xff]+$/.test(text))
    throw badInput(field, `${field} must be one line of visible characters`);
  return text;
}

export function requireSecret(field: string, value: string): string {
  const text = requireText(field, value, SECRET.max);
  if (text.length < SECRET.min) throw badInput(field, `${field} must be at least ${SECRET.min} characters`);
  return text;
}

export function requireEventTypes(field: string, list: readonly string[]): string[] {
  if (list.length === 0) throw badInput(field, `${field} needs at least one event type or pattern`);
  const patterns = requireList(field, list, (f, p) => {
    const text = requireText(f, p, LIMITS.eventType);
    if (!isUsefulPattern(text)) throw badInput(f, `${f}: '${text}' matches no event type (see webhookEventTypes)`);
    return text;
  });
  return [...new Set(patterns)];
}

export function requireInRange(field: string, value: number, range: { min: number; max: number }): number {
  if (!Number.isInteger(value) || value < range.min || value > range.max)
    throw badInput(field, `${field} must be an integer from ${range.min} to ${range.max}`);
  return value;
}

export const requireTargetLabels = (field: string, list: readonly string[]) => [
  ...new Set(requireList(field, list, requireLabel)),
];

export function requireFilters(field: string, f: FiltersInput): { agentId: string | null; stackId: string | null } {
  return {
    agentId: f.agentId ? requireId(`${field}.agentId`, f.agentId) : null,
    stackId: f.stackId ? requireId(`${field}.stackId`, f.stackId) : null,
  };
}

export const requireName = (field: string, value: string) => requireText(field, value, LIMITS.name);
