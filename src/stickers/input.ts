import { badInput } from "../errors.js";
import type { DriftItemInput } from "../generated/graphql.js";
import { MAX_LIST_ARGUMENT, findUncleanText, requireText } from "../validation.js";
import type { DriftItemRow } from "./store.js";

/** A sticker's content as JSON, at most this many UTF-8 bytes (a ConfigMap's worth of release facts). */
export const MAX_STICKER_CONTENT_BYTES = 16 * 1024;
/**
 * Drift items per report. The brief allowed 200, but every list argument of a GraphQL request is
 * already capped at MAX_LIST_ARGUMENT by the query limits (LIST_TOO_LONG), so 50 is what can arrive;
 * the agent sends at most this many.
 */
export const MAX_DRIFT_ITEMS = MAX_LIST_ARGUMENT;

const HASH = /^[0-9a-f]{64}$/;
const LIMITS = { apiVersion: 255, kind: 255, namespace: 253, name: 253, path: 1024, manager: 256 } as const;

/** The sticker's content: a JSON object of at most MAX_STICKER_CONTENT_BYTES with clean strings. */
export function requireStickerContent(content: unknown): Record<string, unknown> {
  if (typeof content !== "object" || content === null || Array.isArray(content))
    throw badInput("input.content", "content must be a JSON object");
  const bytes = Buffer.byteLength(JSON.stringify(content), "utf8");
  if (bytes > MAX_STICKER_CONTENT_BYTES)
    throw badInput("input.content", `content must be at most ${MAX_STICKER_CONTENT_BYTES} bytes of JSON (got ${bytes})`);
  const unclean = findUncleanText(content, "input.content");
  if (unclean) throw badInput(unclean, `${unclean} must not contain NUL characters or unpaired surrogates`);
  // The caller's shape is free-form JSON; checked above to be a plain object.
  return content as Record<string, unknown>;
}

/** Clock skew allowed to an agent's writtenAt: a sticker from the future would stay current for ever. */
const MAX_SKEW_MS = 5 * 60_000;

export function requireWrittenAt(writtenAt: Date, now = new Date()): Date {
  if (writtenAt.getTime() > now.getTime() + MAX_SKEW_MS)
    throw badInput("input.writtenAt", "writtenAt lies in the future (more than 5 minutes ahead of the broker's clock)");
  return writtenAt;
}

export function requireContentHash(hash: string): string {
  if (!HASH.test(hash)) throw badInput("input.contentHash", "contentHash must be 64 lower-case hex characters (SHA-256)");
  return hash;
}

function bounded(field: string, value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  return requireText(field, value, max);
}

/** Drift items as stored: at most MAX_DRIFT_ITEMS, each string trimmed, non-empty and bounded. */
export function requireDriftItems(items: readonly DriftItemInput[]): DriftItemRow[] {
  if (items.length > MAX_DRIFT_ITEMS) throw badInput("input.items", `items may hold at most ${MAX_DRIFT_ITEMS} entries`);
  return items.map((item, i) => {
    const at = (f: keyof typeof LIMITS) => `input.items.${i}.${f}`;
    return {
      reason: item.reason,
      apiVersion: requireText(at("apiVersion"), item.apiVersion, LIMITS.apiVersion),
      kind: requireText(at("kind"), item.kind, LIMITS.kind),
      namespace: bounded(at("namespace"), item.namespace, LIMITS.namespace),
      name: requireText(at("name"), item.name, LIMITS.name),
      path: bounded(at("path"), item.path, LIMITS.path),
      manager: bounded(at("manager"), item.manager, LIMITS.manager),
    };
  });
}
