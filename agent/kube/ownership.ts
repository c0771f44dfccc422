import type { Manifest } from "./manifest.ts";

export const FIELD_MANAGER = "brokkr-agent";
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
  };
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
export function selectPrunable<T extends LiveObject>(live: T[], stackId: string, agentId: string, keepChecksum: string | null): T[] {
  return live.filter(
    (obj) =>
      obj.metadata?.labels?.[STACK_LABEL] === stackId &&
      isOwnedBy(obj, agentId) &&
      (keepChecksum === null || checksumOf(obj) !== keepChecksum),
  );
}
