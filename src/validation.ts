import { badInput } from "./errors.js";

// The one UUID pattern of the code base (ids, cursors, REST paths).
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INT64_MAX = 2n ** 63n - 1n;

/** Configurable bounds on one request's input (BROKKR__BROKER__MAX_YAML_* and friends). */
export interface InputLimits {
  maxYamlBytes: number;
  maxYamlDocuments: number;
  maxHealthEntries: number;
  idempotencyTtlSeconds: number;
  /** Stack templates: time for one render in its worker, and renders at once per process. */
  templateRenderTimeoutMs?: number;
  maxConcurrentRenders?: number;
}

export const DEFAULT_INPUT_LIMITS: InputLimits = {
  maxYamlBytes: 8 * 1024 * 1024,
  maxYamlDocuments: 1000,
  maxHealthEntries: 1000,
  idempotencyTtlSeconds: 86_400,
};

export const LIMITS = {
  name: 255,
  description: 4096,
  label: 64,
  annotationKey: 64,
  annotationValue: 1024,
  eventMessage: 16_384,
  eventType: 64,
  healthStatus: 64,
  idempotencyKey: 255,
} as const;

/**
 * The most entries a list argument may carry (label and annotation filters, labels of a new
 * stack or agent). A filter of a few hundred labels took PostgreSQL minutes to plan; 50 keeps
 * every filter query to one grouped subquery of bounded size.
 */
export const MAX_LIST_ARGUMENT = 50;

/**
 * PostgreSQL refuses NUL in text and a lone UTF-16 surrogate has no UTF-8 form: both used to
 * surface as 500s from deep inside a query. This is the one rule every string input passes.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isCleanText(value: string): boolean {
  return !value.includes("\0") && !LONE_SURROGATE.test(value);
}

export function assertCleanText(field: string, value: string): string {
  if (!isCleanText(value)) throw badInput(field, `${field} must not contain NUL characters or unpaired surrogates`);
  return value;
}

/** The path of the first string anywhere in `value` that breaks the text rule, or null. */
export function findUncleanText(value: unknown, path: string, depth = 0): string | null {
  if (typeof value === "string") return isCleanText(value) ? null : path;
  if (depth > 32 || value === null || typeof value !== "object") return null;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  for (const [key, child] of entries) {
    if (!isCleanText(key)) return path;
    const found = findUncleanText(child, path ? `${path}.${key}` : key, depth + 1);
    if (found) return found;
  }
  return null;
}

/** A trimmed, non-empty string of at most `max` characters, or BAD_USER_INPUT naming the field. */
export function requireText(field: string, value: string, max: number): string {
  const trimmed = assertCleanText(field, value).trim();
  if (trimmed.length === 0) throw badInput(field, `${field} must not be empty`);
  if (trimmed.length > max) throw badInput(field, `${field} must be at most ${max} characters`);
  return trimmed;
}

export function optionalText(field: string, value: string | null | undefined, max: number): string | null | undefined {
  if (value === undefined || value === null) return value;
  assertCleanText(field, value);
  if (value.length > max) throw badInput(field, `${field} must be at most ${max} characters`);
  return value;
}

// Labels and annotation keys travel into Kubernetes label selectors and filters: keep them tame.
const LABEL_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9_.\-/]*[A-Za-z0-9])?$/;

export function requireLabel(field: string, value: string): string {
  const label = requireText(field, value, LIMITS.label);
  if (!LABEL_PATTERN.test(label)) {
    throw badInput(field, `${field} may hold letters, digits, '-', '_', '.', '/' and must start and end with a letter or digit`);
  }
  return label;
}

export function requireAnnotation(field: string, key: string, value: string): { key: string; value: string } {
  const k = requireLabel(`${field}.key`, key);
  optionalText(`${field}.value`, value, LIMITS.annotationValue);
  return { key: k, value };
}

/** A list argument of at most MAX_LIST_ARGUMENT entries, each checked by `each`. */
export function requireList<T, R>(
  field: string,
  list: readonly T[] | null | undefined,
  each: (field: string, item: T) => R,
): R[] {
  if (!list) return [];
  if (list.length > MAX_LIST_ARGUMENT) throw badInput(field, `${field} may hold at most ${MAX_LIST_ARGUMENT} entries`);
  return list.map((item, i) => each(`${field}[${i}]`, item));
}

/** A stack or agent already carries MAX_LIST_ARGUMENT labels (or annotations) and gets no more. */
export const tooManyTags = (field: string, owner: "stack" | "agent", what: "labels" | "annotations") =>
  badInput(field, `a ${owner} carries at most ${MAX_LIST_ARGUMENT} ${what}; remove one first`);

export const requireLabels = (field: string, labels: readonly string[] | null | undefined) =>
  requireList(field, labels, requireLabel);

export const requireAnnotations = (field: string, list: readonly { key: string; value: string }[] | null | undefined) =>
  requireList(field, list, (f, a) => requireAnnotation(f, a.key, a.value));

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export function requireId(field: string, value: string): string {
  if (!UUID.test(value)) throw badInput(field, `${field} is not a valid id`);
  return value.toLowerCase();
}

/** True for a decimal string in PostgreSQL's non-negative BIGINT range. */
export function isInt64Digits(value: string): boolean {
  return /^\d{1,19}$/.test(value) && BigInt(value) <= INT64_MAX;
}

/**
 * The one sequence-id parser (cursors over GraphQL and REST): a non-negative integer in
 * PostgreSQL's BIGINT range, as a decimal string, a safe JavaScript integer or a bigint.
 */
export function parseSequenceId(field: string, value: unknown): bigint {
  if (typeof value === "bigint" && value >= 0n && value <= INT64_MAX) return value;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === "string" && isInt64Digits(value)) return BigInt(value);
  throw badInput(field, `${field} must be a non-negative 64-bit integer`);
}

/**
 * A JSON object argument (configuration, parameters) of at most `maxBytes` as UTF-8 JSON, with
 * clean text throughout; `undefined`/null give `{}`. The size is what PostgreSQL will store.
 */
export function requireJsonObject(field: string, value: unknown, maxBytes: number): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw badInput(field, `${field} must be a JSON object`);
  if (Buffer.byteLength(JSON.stringify(value), "utf8") > maxBytes)
    throw badInput(field, `${field} must be at most ${maxBytes / 1024} KiB as JSON`);
  const unclean = findUncleanText(value, field);
  if (unclean) throw badInput(unclean, `${unclean} must not contain NUL characters or unpaired surrogates`);
  return value as Record<string, unknown>;
}
