export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
}

const VERBS = ["create", "delete", "get", "list", "patch"];

function builtin(group: string, version: string, kind: string, plural: string, namespaced: boolean): ResourceType {
  return { group, version, kind, plural, singular: kind.toLowerCase(), namespaced };
}

export const BUILTIN_TYPES: readonly ResourceType[] = [
  builtin("", "v1", "Namespace", "namespaces", false),
  builtin("", "v1", "ConfigMap", "configmaps", true),
  builtin("", "v1", "Secret", "secrets", true),
  builtin("", "v1", "Service", "services", true),
  builtin("", "v1", "Pod", "pods", true),
  builtin("", "v1", "Event", "events", true),
  builtin("", "v1", "ServiceAccount", "serviceaccounts", true),
  builtin("", "v1", "Event", "events", true),
  builtin("apps", "v1", "Deployment", "deployments", true),
  builtin("apps", "v1", "StatefulSet", "statefulsets", true),
  builtin("apps", "v1", "DaemonSet", "daemonsets", true),
  builtin("batch", "v1", "Job", "jobs", true),
  builtin("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
  builtin("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true),
  builtin("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false),
  builtin("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false),
  builtin("networking.k8s.io", "v1", "Ingress", "ingresses", true),
  builtin("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", false),
];

export function groupVersion(type: Pick<ResourceType, "group" | "version">): string {
  return type.group === "" ? type.version : `${type.group}/${type.version}`;
}

/** The set of served resource types; grows and shrinks as CRDs are applied and deleted. */
export class Catalog {
  private readonly custom = new Map<string, ResourceType[]>();

  all(): ResourceType[] {
    return [...BUILTIN_TYPES, ...[...this.custom.values()].flat()];
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.all().find((t) => t.group === group && t.version === version && t.plural === plural);
  }

  findKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.all().find((t) => groupVersion(t) === apiVersion && t.kind === kind);
  }

  registerCrd(crdName: string, types: ResourceType[]): void {
    this.custom.set(crdName, types);
  }

  unregisterCrd(crdName: string): ResourceType[] {
    const types = this.custom.get(crdName) ?? [];
    this.custom.delete(crdName);
    return types;
  }

  groupsAndVersions(): Map<string, Set<string>> {
    const groups = new Map<string, Set<string>>();
    for (const t of this.all()) {
      if (t.group === "") continue;
      const versions = groups.get(t.group) ?? new Set<string>();
      versions.add(t.version);
      groups.set(t.group, versions);
    }
    return groups;
  }

  resourceList(group: string, version: string): object | undefined {
    const types = this.all().filter((t) => t.group === group && t.version === version);
    if (types.length === 0) return undefined;
    return {
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion: groupVersion({ group, version }),
      resources: types.map((t) => ({
        name: t.plural,
        singularName: t.singular,
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: VERBS,
      })),
    };
  }

  groupList(): object {
    const groups = [...this.groupsAndVersions()].map(([name, versions]) => {
      const list = [...versions].map((version) => ({ groupVersion: `${name}/${version}`, version }));
      return { name, versions: list, preferredVersion: list[0] };
    });
    return { kind: "APIGroupList", apiVersion: "v1", groups };
  }
}

/** Resource types a CustomResourceDefinition body declares (served versions only). */
export function typesFromCrd(crd: Record<string, any>): ResourceType[] {
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  const versions: Array<Record<string, any>> = Array.isArray(spec.versions) ? spec.versions : [];
  return versions
    .filter((v) => v.served !== false)
    .map((v) => ({
      group: String(spec.group),
      version: String(v.name),
      kind: String(names.kind),
      plural: String(names.plural),
      singular: String(names.singular ?? String(names.kind).toLowerCase()),
      namespaced: spec.scope !== "Cluster",
    }));
}
