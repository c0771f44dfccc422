import { KubeHttp } from "./http.ts";
import type { KubeConfig } from "./kubeconfig.ts";
import { AgentObjectApi, type CoreV1Event, type ObjectList, type V1Pod } from "./objects.ts";

export { AgentObjectApi } from "./objects.ts";
export { type KubeConfig, type KubeEnvironment, loadKubeConfig } from "./kubeconfig.ts";

/** The core/v1 calls the agent makes by name (pods by selector, events, a container's log). */
export class CoreApi {
  constructor(private readonly http: KubeHttp) {}

  listNamespacedPod(q: { namespace: string; labelSelector?: string; limit?: number; _continue?: string }) {
    return this.http.json<ObjectList<V1Pod>>({
      method: "GET",
      path: `/api/v1/namespaces/${encodeURIComponent(q.namespace)}/pods`,
      query: { labelSelector: q.labelSelector, limit: q.limit, continue: q._continue },
    });
  }

  listNamespacedEvent(q: { namespace: string; limit?: number; _continue?: string }) {
    return this.http.json<ObjectList<CoreV1Event>>({
      method: "GET",
      path: `/api/v1/namespaces/${encodeURIComponent(q.namespace)}/events`,
      query: { limit: q.limit, continue: q._continue },
    });
  }

  readNamespacedPodLog(q: {
    name: string;
    namespace: string;
    container?: string;
    timestamps?: boolean;
    limitBytes?: number;
    sinceSeconds?: number;
    tailLines?: number;
    previous?: boolean;
  }): Promise<string> {
    const { name, namespace, ...query } = q;
    return this.http.request({
      method: "GET",
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/log`,
      query,
    });
  }
}

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
}

export class VersionApi {
  constructor(private readonly http: KubeHttp) {}

  getCode(): Promise<VersionInfo> {
    return this.http.json<VersionInfo>({ method: "GET", path: "/version" });
  }
}

export interface KubeClients {
  config: KubeConfig;
  objects: AgentObjectApi;
  core: CoreApi;
  version: VersionApi;
}

/** One connection pool to the API server, shared by every client. */
export function createKubeClients(config: KubeConfig): KubeClients {
  const http = new KubeHttp(config);
  return {
    config,
    objects: new AgentObjectApi(http, config.namespace),
    core: new CoreApi(http),
    version: new VersionApi(http),
  };
}

export interface KubeProbe {
  reachable: boolean;
  latencyMs: number | null;
}

/** Times a cheap GET /version; any failure counts as unreachable. */
export async function probeKube(version: VersionApi): Promise<KubeProbe> {
  const started = performance.now();
  try {
    await version.getCode();
    return { reachable: true, latencyMs: Math.round(performance.now() - started) };
  } catch {
    return { reachable: false, latencyMs: null };
  }
}
