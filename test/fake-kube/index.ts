import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { Catalog } from "./catalog.ts";
import { parseLabelSelector } from "./label-selector.ts";
import { type LogLine, PodLogs } from "./pod-logs.ts";
import { type Fault, FakeKubeHandler, type RequestRecord } from "./server.ts";
import { type KubeObject, ObjectStore } from "./store.ts";

export type { KubeObject } from "./store.ts";
export type { Fault, RequestRecord } from "./server.ts";
export type { LogLine } from "./pod-logs.ts";

export interface FakeKubeOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Namespace written into the kubeconfig's context. */
  contextNamespace?: string;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface FakeKube {
  url: string;
  kubeconfigPath: string;
  kubeconfigYaml: string;
  /** Objects of one kind (all namespaces unless given), optionally filtered by a label selector. */
  list(apiVersion: string, kind: string, options?: { namespace?: string; labelSelector?: string }): KubeObject[];
  /** The object, or undefined when it does not exist. */
  get(ref: ObjectRef): KubeObject | undefined;
  /** Creates an object as a controller or kubelet would (a Pod, an Event; not counted as a request). */
  create(object: KubeObject): KubeObject;
  /** Sets the text `GET …/pods/{pod}/log?container=` serves (see pod-logs.ts). */
  setPodLog(ref: { namespace: string; pod: string; container: string }, text: string): void;
  /**
   * Records a core/v1 Event as a controller or kubelet would (not counted as a request); a
   * missing name, namespace or times are filled in. Returns the stored Event.
   */
  recordEvent(event: Partial<KubeObject> & { involvedObject: KubeObject; reason: string; message?: string }): KubeObject;
  /** Appends canned lines to a container's log, served by GET …/pods/{name}/log. */
  appendPodLog(ref: { namespace?: string; pod: string; container: string }, lines: LogLine[]): void;
  /** Writes a status as a controller or kubelet would (not counted as a request). */
  setStatus(ref: ObjectRef, status: KubeObject): void;
  /** Every request received, in order, including discovery and failed ones. */
  requests(): RequestRecord[];
  /** Number of write requests (PATCH, POST, PUT, DELETE), or of one verb. */
  writeCount(method?: string): number;
  resetRequests(): void;
  /** The next `times` requests matching `match` answer `status` with a Status body. */
  injectFault(fault: Fault): void;
  setLatency(ms: number): void;
  stop(): Promise<void>;
}

const WRITE_METHODS = new Set(["PATCH", "POST", "PUT", "DELETE"]);

function kubeconfig(url: string, namespace: string | undefined): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "fake", cluster: { server: url, "insecure-skip-tls-verify": true } }],
    users: [{ name: "fake", user: { token: "fake-token" } }],
    contexts: [{ name: "fake", context: { cluster: "fake", user: "fake", ...(namespace ? { namespace } : {}) } }],
    "current-context": "fake",
  });
}

export async function startFakeKube(options: FakeKubeOptions = {}): Promise<FakeKube> {
  const catalog = new Catalog();
  const store = new ObjectStore(catalog);
  const logs = new PodLogs();
  const handler = new FakeKubeHandler(catalog, store, logs);
  let events = 0;
  const server = createServer((req, res) => void handler.handle(req, res));
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), "fake-kube-"));
  const kubeconfigPath = join(dir, "kubeconfig.yaml");
  const kubeconfigYaml = kubeconfig(url, options.contextNamespace);
  writeFileSync(kubeconfigPath, kubeconfigYaml);

  const typeOf = (apiVersion: string, kind: string) => {
    const type = catalog.findKind(apiVersion, kind);
    if (!type) throw new Error(`fake-kube does not serve ${apiVersion} ${kind}`);
    return type;
  };
  const nsOf = (ref: ObjectRef) => (typeOf(ref.apiVersion, ref.kind).namespaced ? (ref.namespace ?? "default") : undefined);

  return {
    url,
    kubeconfigPath,
    kubeconfigYaml,
    list: (apiVersion, kind, opts = {}) =>
      store.list(typeOf(apiVersion, kind), opts.namespace, parseLabelSelector(opts.labelSelector)),
    get: (ref) => {
      try {
        return store.get(typeOf(ref.apiVersion, ref.kind), nsOf(ref), ref.name);
      } catch {
        return undefined;
      }
    },
    create: (object) => {
      const type = typeOf(String(object.apiVersion), String(object.kind));
      const namespace = type.namespaced ? (object.metadata?.namespace ?? "default") : undefined;
      return store.create(type, namespace, { ...object, metadata: { ...object.metadata, namespace } }, "fake-controller");
    },
    setPodLog: (ref, text) => logs.set(ref.namespace, ref.pod, ref.container, text),
    recordEvent: (event) => {
      const namespace = event.metadata?.namespace ?? event.involvedObject.namespace ?? "default";
      const now = new Date().toISOString();
      const body = {
        type: "Normal",
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: "kubelet" },
        ...event,
        apiVersion: "v1",
        kind: "Event",
        metadata: { ...event.metadata, namespace, name: event.metadata?.name ?? `${event.involvedObject.name}.${++events}` },
      } as KubeObject;
      return store.create(typeOf("v1", "Event"), namespace, body, "kubelet");
    },
    appendPodLog: (ref, lines) => logs.append(ref.namespace ?? "default", ref.pod, ref.container, lines),
    setStatus: (ref, status) => store.setStatus(typeOf(ref.apiVersion, ref.kind), nsOf(ref), ref.name, status),
    requests: () => [...handler.requests],
    writeCount: (method) =>
      handler.requests.filter((r) => (method ? r.method === method.toUpperCase() : WRITE_METHODS.has(r.method))).length,
    resetRequests: () => void handler.requests.splice(0),
    injectFault: (fault) => void handler.faults.push({ ...fault, match: { ...fault.match } }),
    setLatency: (ms) => void (handler.latencyMs = ms),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
