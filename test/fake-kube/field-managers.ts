import { isDeepStrictEqual } from "node:util";
import {
  type FieldsEntry,
  type KubeObject,
  changedPaths,
  decodeManagedFields,
  deleteAt,
  encodeManagedFields,
  entryFor,
  getAt,
  leafPaths,
  setAt,
  userFields,
} from "./fields.ts";
import { StatusError } from "./status.ts";

export interface Written {
  /** The new user fields (spec part plus user metadata). */
  fields: KubeObject;
  managedFields: KubeObject[];
}

/**
 * Server-side apply by one manager over the live object, as the API server does it: fields of the
 * configuration that another manager owns with a different value conflict (409 unless `force`,
 * which moves their ownership); fields this manager applied before and no longer applies are
 * removed unless another manager still owns them; the manager then owns exactly its configuration.
 */
export function applyFields(live: KubeObject | undefined, body: KubeObject, manager: string, force: boolean): Written {
  const entries = decodeManagedFields(live?.metadata?.managedFields);
  const config = userFields(body);
  const applied = leafPaths(config);
  const others = entries.filter((e) => !(e.manager === manager && e.operation === "Apply"));
  const conflicts = others.flatMap((e) =>
    [...applied]
      .filter((p) => e.fields.has(p) && !isDeepStrictEqual(getAt(live ?? {}, p), getAt(config, p)))
      .map((p) => ({ e, p })),
  );
  if (conflicts.length > 0 && !force) {
    const list = conflicts.map(({ e, p }) => `conflict with "${e.manager}": .${JSON.parse(p).join(".")}`).join("; ");
    throw new StatusError(409, `Apply failed with ${conflicts.length} conflict(s): ${list}`);
  }
  for (const { e, p } of conflicts) e.fields.delete(p);
  const own = entryFor(entries, manager, "Apply", body.apiVersion);
  const fields = structuredClone(userFields(live ?? {}));
  for (const p of own.fields) if (!applied.has(p) && !others.some((e) => e.fields.has(p))) deleteAt(fields, p);
  for (const p of applied) setAt(fields, p, getAt(config, p));
  own.fields = applied;
  return { fields, managedFields: encodeManagedFields(entries) };
}

/**
 * A non-apply write (create, merge patch): the manager of an Update entry takes the fields it
 * changed from everyone else. When the request itself changed `managedFields`, those are taken as
 * the new base, as the API server does (this is how ownership is migrated between managers).
 */
export function updateFields(live: KubeObject | undefined, next: KubeObject, manager: string): Written {
  const requested = next.metadata?.managedFields;
  const base =
    requested !== undefined && !isDeepStrictEqual(requested, live?.metadata?.managedFields)
      ? requested
      : live?.metadata?.managedFields;
  const entries: FieldsEntry[] = decodeManagedFields(base);
  const changed = changedPaths(live ?? {}, next);
  for (const e of entries) for (const p of changed) e.fields.delete(p);
  const present = [...changed].filter((p) => getAt(next, p) !== undefined);
  if (present.length > 0) for (const p of present) entryFor(entries, manager, "Update", next.apiVersion).fields.add(p);
  return { fields: userFields(next), managedFields: encodeManagedFields(entries) };
}

/** RFC 7386 JSON merge patch: maps merge, `null` removes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return structuredClone(patch);
  const out: KubeObject = typeof target === "object" && target !== null && !Array.isArray(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}
