import { KubeApiError, type KubeHttp } from "./http.ts";

/**
 * The shapes the agent reads and writes. Objects come back as the API sends them (JSON: times
 * are strings), not through a typed serializer; the generated types (type-only imports, nothing
 * of that package is bundled) describe their fields.
 */
export type {
  CoreV1Event,
  KubernetesObject,
  V1ContainerStatus,
  V1LabelSelector,
  V1Pod,
} from "@kubernetes/client-node";
import type { KubernetesObject } from "@kubernetes/client-node";

export interface ObjectList<T> {
  items: T[];
  metadata?: { continue?: string; resourceVersion?: string };
}

/** One entry of a discovery document (`GET /api/v1`, `/apis/{group}/{version}`). */
export interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** Content types of PATCH (the values of @kubernetes/client-node's PatchStrategy). */
export const PatchStrategy = {
  MergePatch: "application/merge-patch+json",
  StrategicMergePatch: "application/strategic-merge-patch+json",
  ServerSideApply: "application/apply-patch+yaml",
} as const;

type Action = "create" | "read" | "patch" | "delete" | "list";

/**
 * Any kind by apiVersion and kind, its path found through discovery (cached per apiVersion, asked
 * again when a kind is missing, as a CRD may have been added since). The same methods and
 * arguments as @kubernetes/client-node's KubernetesObjectApi, which the agent used before.
 */
export class AgentObjectApi {
  private readonly discovery = new Map<string, ApiResource[]>();

  constructor(
    private readonly http: KubeHttp,
    private readonly defaultNamespace = "default",
  ) {}

  async create<T extends KubernetesObject = KubernetesObject>(spec: T): Promise<T> {
    return this.http.json<T>({ method: "POST", path: await this.pathOf(spec, "create"), body: JSON.stringify(spec) });
  }

  async read<T extends KubernetesObject = KubernetesObject>(spec: KubernetesObject): Promise<T> {
    return this.http.json<T>({ method: "GET", path: await this.pathOf(spec, "read") });
  }

  async patch<T extends KubernetesObject = KubernetesObject>(
    spec: KubernetesObject,
    pretty?: string,
    dryRun?: string,
    fieldManager?: string,
    force?: boolean,
    patchStrategy: string = PatchStrategy.StrategicMergePatch,
  ): Promise<T> {
    return this.http.json<T>({
      method: "PATCH",
      path: await this.pathOf(spec, "patch"),
      query: { pretty, dryRun, fieldManager, force },
      // JSON is YAML, so an apply patch may be sent as JSON.
      body: JSON.stringify(spec),
      contentType: patchStrategy,
    });
  }

  async delete(spec: KubernetesObject): Promise<unknown> {
    return this.http.json({ method: "DELETE", path: await this.pathOf(spec, "delete") });
  }

  /** Objects of one kind, in `namespace` or (without one) across all namespaces. */
  async list<T extends KubernetesObject = KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace?: string,
    pretty?: string,
    _exact?: boolean,
    _exportt?: boolean,
    fieldSelector?: string,
    labelSelector?: string,
    limit?: number,
    continueToken?: string,
  ): Promise<ObjectList<T>> {
    const path = await this.pathOf({ apiVersion, kind, metadata: { namespace } }, "list");
    return this.http.json<ObjectList<T>>({
      method: "GET",
      path,
      query: { pretty, fieldSelector, labelSelector, limit, continue: continueToken },
    });
  }

  /** The discovery entry of a kind, or undefined when the cluster does not serve it. */
  async resourceFor(apiVersion: string, kind: string): Promise<ApiResource | undefined> {
    const cached = this.discovery.get(apiVersion)?.find((r) => r.kind === kind);
    if (cached) return cached;
    let resources: ApiResource[];
    try {
      const doc = await this.http.json<{ resources?: ApiResource[] }>({ method: "GET", path: versionPath(apiVersion) });
      // Subresources (pods/log, deployments/scale) name the kinds they serve too.
      resources = (doc.resources ?? []).filter((r) => !r.name.includes("/"));
    } catch (err) {
      if (err instanceof KubeApiError)
        throw new KubeApiError(err.code, err.body, `discovery of ${apiVersion} ${kind} failed: ${err.message}`);
      throw err;
    }
    this.discovery.set(apiVersion, resources);
    return resources.find((r) => r.kind === kind);
  }

  /** As KubernetesObjectApi builds it: a namespaced kind without a namespace gets the context's (but a list spans all). */
  private async pathOf(spec: KubernetesObject, action: Action): Promise<string> {
    if (!spec.kind) throw new Error("Required spec property kind is not set");
    const apiVersion = spec.apiVersion || "v1";
    const resource = await this.resourceFor(apiVersion, spec.kind);
    if (!resource) throw new Error(`Unrecognized API version and kind: ${apiVersion} ${spec.kind}`);
    const parts = [versionPath(apiVersion)];
    const namespace = spec.metadata?.namespace || (action === "list" ? undefined : this.defaultNamespace);
    if (resource.namespaced && namespace) parts.push("namespaces", encodeURIComponent(namespace));
    parts.push(resource.name);
    if (action !== "create" && action !== "list") {
      if (!spec.metadata?.name) throw new Error("Required spec property name is not set");
      parts.push(encodeURIComponent(spec.metadata.name));
    }
    return parts.join("/");
  }
}

function versionPath(apiVersion: string): string {
  return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}
