import type { Manifest } from "../kube/manifest.ts";
import { FIELD_MANAGER, LAST_APPLIED_ANNOTATION, type FieldsV1, type LiveObject } from "../kube/ownership.ts";

export type DriftReason = "CHANGED" | "DELETED" | "FOREIGN_MANAGER" | "STICKER_CHANGED";

/** One drifted fact, as reportDrift takes it. */
export interface DriftItem {
  reason: DriftReason;
  apiVersion: string;
  kind: string;
  namespace: string | null;
  name: string;
  /** Dot path of the field (keys holding a dot are quoted: metadata.labels["a.b/c"]). */
  path: string | null;
  manager: string | null;
}

type Json = Record<string, unknown>;
const isMap = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The fields the agent applied, as key paths: maps are walked, lists and scalars are leaves. Type,
 * identity (name, namespace) and status are not fields one applies; the apply timestamp the agent
 * stamps changes on every apply and is no drift.
 */
export function appliedPaths(applied: Manifest): string[][] {
  const { apiVersion: _a, kind: _k, status: _s, metadata, ...body } = applied;
  const { name: _n, namespace: _ns, ...meta } = metadata;
  const out: string[][] = [];
  const walk = (value: unknown, path: string[]) => {
    if (isMap(value) && Object.keys(value).length > 0) for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    else if (path.length > 0) out.push(path);
  };
  walk({ metadata: meta, ...body }, []);
  return out.filter((p) => !(p[0] === "metadata" && p[1] === "annotations" && p[2] === LAST_APPLIED_ANNOTATION));
}

function valueAt(obj: unknown, path: string[]): unknown {
  let node = obj;
  for (const key of path) node = isMap(node) ? node[key] : undefined;
  return node;
}

/**
 * Whether the live value still holds what was applied. Maps and list items compare by the keys
 * applied only, because an API server adds defaulted fields (a container's imagePullPolicy) that
 * the agent never set; scalars compare exactly.
 */
export function holds(live: unknown, applied: unknown): boolean {
  if (Array.isArray(applied))
    return Array.isArray(live) && live.length === applied.length && applied.every((a, i) => holds(live[i], a));
  if (isMap(applied)) return isMap(live) && Object.entries(applied).every(([k, v]) => holds(live[k], v));
  return live === applied;
}

/** Key paths a FieldsV1 set owns; under a list item (k:, v:, i:) the list itself counts as owned. */
export function ownedPaths(fields: FieldsV1 | undefined, prefix: string[] = []): string[][] {
  const keys = Object.keys(fields ?? {}).filter((k) => k !== ".");
  if (keys.length === 0 || keys.some((k) => !k.startsWith("f:"))) return prefix.length > 0 ? [prefix] : [];
  return keys.flatMap((k) => ownedPaths(fields?.[k], [...prefix, k.slice(2)]));
}

const within = (a: string[], b: string[]) => a.length <= b.length && a.every((k, i) => b[i] === k);

export function formatPath(path: string[]): string {
  return path.map((k, i) => (/^[A-Za-z0-9_-]+$/.test(k) ? `${i === 0 ? "" : "."}${k}` : `[${JSON.stringify(k)}]`)).join("");
}

/**
 * Drift of one resource: DELETED when it is gone; per field the agent applied, CHANGED when the
 * live value no longer holds it, and FOREIGN_MANAGER (naming the manager) for each other field
 * manager in managedFields that owns that field or a part of it. A field can be both.
 */
export function resourceDrift(applied: Manifest, live: LiveObject | undefined, manager = FIELD_MANAGER): DriftItem[] {
  const ref = {
    apiVersion: applied.apiVersion,
    kind: applied.kind,
    namespace: applied.metadata.namespace ?? null,
    name: applied.metadata.name,
  };
  if (!live) return [{ ...ref, reason: "DELETED", path: null, manager: null }];
  const foreign = (live.metadata?.managedFields ?? [])
    .filter((e) => e.manager && e.manager !== manager && !e.subresource)
    .map((e) => ({ manager: e.manager ?? "", paths: ownedPaths(e.fieldsV1) }));
  const items: DriftItem[] = [];
  for (const path of appliedPaths(applied)) {
    const at = formatPath(path);
    if (!holds(valueAt(live, path), valueAt(applied, path))) items.push({ ...ref, reason: "CHANGED", path: at, manager: null });
    for (const other of foreign)
      if (other.paths.some((p) => within(p, path) || within(path, p)))
        items.push({ ...ref, reason: "FOREIGN_MANAGER", path: at, manager: other.manager });
  }
  return items;
}

/** Drift of the sticker ConfigMap: gone, or any data key other than written. */
export function stickerDrift(written: Manifest & { data: Record<string, string> }, live: LiveObject | undefined): DriftItem[] {
  const ref = { apiVersion: "v1", kind: "ConfigMap", namespace: written.metadata.namespace ?? null, name: written.metadata.name };
  if (!live) return [{ ...ref, reason: "STICKER_CHANGED", path: null, manager: null }];
  const data = (live as { data?: Record<string, unknown> }).data ?? {};
  const keys = [...new Set([...Object.keys(written.data), ...Object.keys(data)])].sort();
  return keys
    .filter((k) => data[k] !== written.data[k])
    .map((k) => ({ ...ref, reason: "STICKER_CHANGED", path: formatPath(["data", k]), manager: null }));
}
