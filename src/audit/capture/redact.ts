/*
 * What of a request's input goes into an audit row's details: never a secret, never unbounded.
 * Keys are matched without case, `_` or `-`, so `authHeader`, `auth_header` and `Auth-Header`
 * are one key. A new feature's secret field needs a name on this list (or one of its words).
 */
const SECRET_KEYS = new Set([
  "pak",
  "initialpak",
  "secret",
  "secrets",
  "password",
  "token",
  "apikey",
  "authheader",
  "authorization",
  "headers",
  "credentials",
  "privatekey",
  "signingkey",
  "clientsecret",
  // Webhook URLs often carry a token in their path or query (Slack, Teams).
  "url",
  "webhookurl",
  "endpoint",
]);
/** Key words that mark a secret wherever they appear (`githubToken`, `tlsPrivateKey`). */
const SECRET_WORDS = /(secret|password|token|privatekey|authorization|credential)/;
/** Large contents (manifests, templates) are summarised by size: they are in their own tables. */
const CONTENT_KEYS = new Set(["yamlcontent", "content", "templatecontent", "body", "manifest", "parametersschema"]);

export const REDACTED = "[redacted]";
const MAX_STRING = 256;
const MAX_ITEMS = 20;
const MAX_KEYS = 40;
const MAX_DEPTH = 4;
/** A whole details object above this (serialized) is replaced by its top-level keys. */
export const MAX_DETAILS_BYTES = 4096;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const normal = (key: string) => key.toLowerCase().replace(/[_-]/g, "");

export function isSecretKey(key: string): boolean {
  const k = normal(key);
  return SECRET_KEYS.has(k) || SECRET_WORDS.test(k);
}

/** Text safe for JSONB (no NUL, no lone surrogate) and at most MAX_STRING characters. */
export function boundedText(value: string, max = MAX_STRING): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return cut.replaceAll("\u0000", "\uFFFD").replace(LONE_SURROGATE, "\uFFFD");
}

function bounded(value: unknown, depth: number): unknown {
  if (typeof value === "string") return boundedText(value);
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "boolean" || value === null || value === undefined) return value ?? null;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (depth >= MAX_DEPTH) return "[nested]";
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => bounded(v, depth + 1));
    return value.length > MAX_ITEMS ? [...items, `[${value.length - MAX_ITEMS} more]`] : items;
  }
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value).slice(0, MAX_KEYS)) {
      const k = boundedText(key, 64);
      if (isSecretKey(key)) out[k] = v === null || v === undefined ? null : REDACTED;
      else if (CONTENT_KEYS.has(normal(key)) && typeof v === "string") out[k] = `[${Buffer.byteLength(v)} bytes]`;
      else out[k] = bounded(v, depth + 1);
    }
    return out;
  }
  return String(value);
}

/** The input as audit details: secrets redacted, contents summarised, everything bounded. */
export function redactInput(value: unknown): unknown {
  const out = bounded(value, 0);
  if (JSON.stringify(out).length <= MAX_DETAILS_BYTES) return out;
  if (out && typeof out === "object" && !Array.isArray(out)) return { truncated: true, keys: Object.keys(out) };
  return { truncated: true };
}
