import type { Manifest } from "./manifest.ts";

export const FIELD_MANAGER = "brokkr-agent";
/** The field manager of Brokkr's own (Rust) agent, whose resources this agent takes over. */
export const BROKKR_FIELD_MANAGER = "brokkr-controller";
export const STACK_LABEL = "k8s.brokkr.io/stack";
export const OBJECT_ID_LABEL = "brokkr.io/deployment-object-id";
export const CHECKSUM_ANNOTATION = "k8s.brokkr.io/deployment-checksum";
export const LAST_APPLIED_ANNOTATION = "k8s.brokkr.io/last-config-applied";
export const OWNER_ANNOTATION = "brokkr.io/owner-id";

export interface Ownership {
  stackId: string;
  deploymentObjectId: string;
  checksum: string;
  agentId: string;
  appliedAt: Date;
}

export interface LiveObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
    resourceVersion?: string;
    managedFields?: ManagedFieldsEntry[];
  };
}

/** A FieldsV1 set: a trie of nested objects (`{"f:metadata": {"f:labels": {}}}`). */
export interface FieldsV1 {
  [key: string]: FieldsV1;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  apiVersion?: string;
  fieldsType?: string;
  fieldsV1?: FieldsV1;
  time?: Date | string;
}

/** A copy of the manifest carrying Brokkr's ownership labels and annotations. */
export function stampOwnership(manifest: Manifest, owner: Ownership): Manifest {
  const copy = structuredClone(manifest);
  copy.metadata.labels = {
    ...copy.metadata.labels,
    [STACK_LABEL]: owner.stackId,
    [OBJECT_ID_LABEL]: owner.deploymentObjectId,
  };
  copy.metadata.annotations = {
    ...copy.metadata.annotations,
    [CHECKSUM_ANNOTATION]: owner.checksum,
    [LAST_APPLIED_ANNOTATION]: owner.appliedAt.toISOString(),
    [OWNER_ANNOTATION]: owner.agentId,
  };
  return copy;
}

/** Only objects this agent stamped, and that no controller owns, may be deleted by it. */
export function isOwnedBy(obj: LiveObject, agentId: string): boolean {
  const refs = obj.metadata?.ownerReferences;
  return obj.metadata?.annotations?.[OWNER_ANNOTATION] === agentId && (refs === undefined || refs.length === 0);
}

export function checksumOf(obj: LiveObject): string | undefined {
  return obj.metadata?.annotations?.[CHECKSUM_ANNOTATION];
}

/**
 * The stack's live objects to delete: those this agent owns whose checksum differs from the one
 * to keep. `keepChecksum` null (deletion marker, untargeted stack) selects all it owns.
 */
export function selectPrunable<T extends LiveObject>(
  live: T[],
  stackId: string,
  agentId: string,
  keepChecksum: string | null,
): T[] {
  return live.filter(
    (obj) =>
      obj.metadata?.labels?.[STACK_LABEL] === stackId &&
      isOwnedBy(obj, agentId) &&
      (keepChecksum === null || checksumOf(obj) !== keepChecksum),
  );
}

export interface Adoption {
  /** Labels to add: Brokkr stamps the stack and object id as annotations only. */
  labels?: Record<string, string>;
  /** The migrated managedFields, when Brokkr's field manager still owns fields. */
  managedFields?: ManagedFieldsEntry[];
}

/**
 * What it takes to make an object Brokkr's agent applied for this agent id (stack annotation,
 * owner-id, no controller) look like one this agent applied; undefined when it is not such an
 * object or already looks so.
 */
export function adoptionOf(obj: LiveObject, agentId: string): Adoption | undefined {
  const meta = obj.metadata;
  const stackId = meta?.labels?.[STACK_LABEL] ?? meta?.annotations?.[STACK_LABEL];
  if (!stackId || !isOwnedBy(obj, agentId)) return undefined;
  const objectId = meta?.annotations?.[OBJECT_ID_LABEL];
  const labels =
    meta?.labels?.[STACK_LABEL] === undefined
      ? { [STACK_LABEL]: stackId, ...(objectId ? { [OBJECT_ID_LABEL]: objectId } : {}) }
      : undefined;
  const managedFields = migrateManagedFields(meta?.managedFields);
  return labels || managedFields ? { ...(labels ? { labels } : {}), ...(managedFields ? { managedFields } : {}) } : undefined;
}

/**
 * Hands every field set of Brokkr's field manager to this agent's, entry by entry (an Apply set
 * joins this agent's Apply set), as client-go's csaupgrade does for kubectl: afterwards this agent
 * is the sole applier of those fields, so a field its next object drops is removed, not left
 * owned by a manager that will never apply again. Returns undefined when there is nothing to move.
 */
export function migrateManagedFields(entries: ManagedFieldsEntry[] | undefined): ManagedFieldsEntry[] | undefined {
  const old = (entries ?? []).filter((e) => e.manager === BROKKR_FIELD_MANAGER);
  if (old.length === 0) return undefined;
  const out = (entries ?? []).filter((e) => e.manager !== BROKKR_FIELD_MANAGER).map((e) => structuredClone(e));
  for (const entry of old) {
    const same = out.find(
      (e) =>
        e.manager === FIELD_MANAGER && e.operation === entry.operation && (e.subresource ?? "") === (entry.subresource ?? ""),
    );
    if (same) same.fieldsV1 = unionOf(same.fieldsV1 ?? {}, entry.fieldsV1 ?? {});
    else out.push({ ...structuredClone(entry), manager: FIELD_MANAGER });
  }
  return out;
}

/** The union of two FieldsV1 sets, which are tries of nested objects. */
function unionOf(a: FieldsV1, b: FieldsV1): FieldsV1 {
  const out: FieldsV1 = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const mine = out[key];
    out[key] = mine ? unionOf(mine, value) : value;
  }
  return out;
}
