import { existsSync } from "node:fs";
import { KubeConfig, KubernetesObjectApi, VersionApi, type V1APIResource } from "@kubernetes/client-node";

const IN_CLUSTER_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/** Exposes the client's cached discovery lookup, which it keeps protected. */
export class AgentObjectApi extends KubernetesObjectApi {
  resourceFor(apiVersion: string, kind: string): Promise<V1APIResource | undefined> {
    return this.resource(apiVersion, kind);
  }
}

/** From the given kubeconfig path, else the in-cluster service account, else the default lookup. */
export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else if (existsSync(IN_CLUSTER_TOKEN)) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

export interface KubeClients {
  config: KubeConfig;
  objects: AgentObjectApi;
  version: VersionApi;
}

export function createKubeClients(config: KubeConfig): KubeClients {
  return { config, objects: config.makeApiClient(AgentObjectApi), version: config.makeApiClient(VersionApi) };
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
