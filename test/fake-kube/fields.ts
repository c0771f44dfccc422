import { isDeepStrictEqual } from "node:util";

/**
 * Field ownership for server-side apply, kept small: a field is a path of map keys from the
 * object's root; lists and scalars are leaves (atomic), unlike the real server's associative lists.
 */
export type KubeObject = Record<string, any>;

export interface FieldsEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  /** Encoded paths (JSON arrays of keys). */
  fields: Set<string>;
}

const USER_METADATA = ["labels", "annotations", "ownerReferences", "finalizers"];

function isMap(value: unknown): value is KubeObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The fields a writer can own: everything but type, status and server-set metadata (name and namespace are identity). */
export function userFields(obj: KubeObject): KubeObject {
  const { metadata = {}, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  const meta: KubeObject = {};
  for (const key of USER_METADATA) if (metadata[key] !== undefined) meta[key] = metadata[key];
  return Object.keys(meta).length > 0 ? { ...rest, metadata: meta } : rest;
}

export function leafPaths(value: unknown, prefix: string[] = []): Set<string> {
  const out = new Set<string>();
  if (isMap(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) for (const p of leafPaths(v, [...prefix, k])) out.add(p);
  } else if (prefix.length > 0) out.add(JSON.stringify(prefix));
  return out;
}

export function getAt(obj: KubeObject, path: string): unknown {
  let node: unknown = obj;
  for (const key of JSON.parse(path) as string[]) node = isMap(node) ? node[key] : undefined;
  return node;
}

export function setAt(obj: KubeObject, path: string, value: unknown): void {
  const keys = JSON.parse(path) as string[];
  let node = obj;
  for (const key of keys.slice(0, -1)) {
    if (!isMap(node[key])) node[key] = {};
    node = node[key];
  }
  node[keys.at(-1)!] = structuredClone(value);
}

/** Removes a leaf and the maps it leaves empty. */
export function deleteAt(obj: KubeObject, path: string): void {
  const keys = JSON.parse(path) as string[];
  const chain: KubeObject[] = [obj];
  for (const key of keys.slice(0, -1)) {
    const next = chain.at(-1)![key];
    if (!isMap(next)) return;
    chain.push(next);
  }
  delete chain.at(-1)![keys.at(-1)!];
  for (let i = chain.length - 1; i > 0 && Object.keys(chain[i]!).length === 0; i--) delete chain[i - 1]![keys[i - 1]!];
}

/** Paths whose value differs between two objects' user fields (set, changed or removed). */
export function changedPaths(before: KubeObject, after: KubeObject): Set<string> {
  const all = new Set([...leafPaths(userFields(before)), ...leafPaths(userFields(after))]);
  return new Set([...all].filter((p) => !isDeepStrictEqual(getAt(before, p), getAt(after, p))));
}

/** `FieldsV1` as the API shows it: `{"f:data": {"f:a": {}}}`. */
function toFieldsV1(fields: Set<string>): KubeObject {
  const root: KubeObject = {};
  for (const path of fields) {
    let node = root;
    for (const key of JSON.parse(path) as string[]) node = node[`f:${key}`] ??= {};
  }
  return root;
}

/** Reads `FieldsV1` back; a node with keys other than `f:…` (list items, ".") counts as one atomic leaf. */
function fromFieldsV1(node: KubeObject, prefix: string[] = [], out = new Set<string>()): Set<string> {
  const keys = Object.keys(node).filter((k) => k !== ".");
  if (keys.length === 0 || keys.some((k) => !k.startsWith("f:"))) {
    if (prefix.length > 0) out.add(JSON.stringify(prefix));
    return out;
  }
  for (const key of keys) fromFieldsV1(isMap(node[key]) ? node[key] : {}, [...prefix, key.slice(2)], out);
  return out;
}

export function decodeManagedFields(entries: unknown): FieldsEntry[] {
  if (!Array.isArray(entries)) return [];
  return entries
    .filter((e): e is KubeObject => isMap(e) && typeof e.manager === "string")
    .map((e) => ({
      manager: e.manager,
      operation: e.operation === "Update" ? "Update" : "Apply",
      apiVersion: String(e.apiVersion ?? ""),
      time: String(e.time ?? ""),
      fields: fromFieldsV1(isMap(e.fieldsV1) ? e.fieldsV1 : {}),
    }));
}

export function encodeManagedFields(entries: FieldsEntry[]): KubeObject[] {
  return entries
    .filter((e) => e.fields.size > 0)
    .map((e) => ({
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      time: e.time,
      fieldsType: "FieldsV1",
      fieldsV1: toFieldsV1(e.fields),
    }));
}

/** The entry of one manager and operation, created when missing. */
export function entryFor(
  entries: FieldsEntry[],
  manager: string,
  operation: FieldsEntry["operation"],
  apiVersion: string,
): FieldsEntry {
  let entry = entries.find((e) => e.manager === manager && e.operation === operation);
  if (!entry) {
    entry = { manager, operation, apiVersion, time: "", fields: new Set() };
    entries.push(entry);
  }
  entry.apiVersion = apiVersion;
  entry.time = new Date().toISOString();
  return entry;
}
