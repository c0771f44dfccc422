import { z } from "zod";

export interface KindRef {
  apiVersion: string;
  kind: string;
}

/** Kinds searched when pruning, besides those the agent has applied or found in a stack's CRDs. */
const BUILTIN_KINDS: KindRef[] = (
  [
    ["apiextensions.k8s.io/v1", "CustomResourceDefinition"],
    ["v1", "Namespace"],
    ["v1", "ConfigMap"],
    ["v1", "Secret"],
    ["v1", "Service"],
    ["v1", "ServiceAccount"],
    ["v1", "Pod"],
    ["v1", "PersistentVolumeClaim"],
    ["apps/v1", "Deployment"],
    ["apps/v1", "StatefulSet"],
    ["apps/v1", "DaemonSet"],
    ["batch/v1", "Job"],
    ["batch/v1", "CronJob"],
    ["rbac.authorization.k8s.io/v1", "Role"],
    ["rbac.authorization.k8s.io/v1", "RoleBinding"],
    ["rbac.authorization.k8s.io/v1", "ClusterRole"],
    ["rbac.authorization.k8s.io/v1", "ClusterRoleBinding"],
    ["networking.k8s.io/v1", "Ingress"],
    ["networking.k8s.io/v1", "NetworkPolicy"],
  ] satisfies [string, string][]
).map(([apiVersion, kind]) => ({ apiVersion, kind }));

/** The kinds this agent knows: built-ins plus every kind it applied in this process. */
export class KindRegistry {
  private readonly kinds = new Map<string, KindRef>();

  constructor() {
    for (const k of BUILTIN_KINDS) this.add(k);
  }

  add(ref: KindRef): void {
    this.kinds.set(`${ref.apiVersion}|${ref.kind}`, { apiVersion: ref.apiVersion, kind: ref.kind });
  }

  all(): KindRef[] {
    return [...this.kinds.values()];
  }
}

/** The part of a CustomResourceDefinition's spec that names its kinds; without group or kind it names none. */
const CrdSpec = z.object({
  group: z.string().min(1),
  names: z.object({ kind: z.string().min(1) }),
  versions: z.array(z.object({ name: z.string().optional(), served: z.boolean().optional() })).optional(),
});

/** Kinds a CustomResourceDefinition serves, so a stack's custom resources are found after a restart. */
export function kindsOfCrd(crd: object): KindRef[] {
  const parsed = CrdSpec.safeParse("spec" in crd ? crd.spec : undefined);
  if (!parsed.success) return [];
  const { group, names, versions = [] } = parsed.data;
  return versions
    .filter((v) => v.served !== false && v.name)
    .map((v) => ({ apiVersion: `${group}/${v.name}`, kind: names.kind }));
}
