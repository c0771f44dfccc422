import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import { BUILTIN_TYPES, type Catalog, type ResourceType, groupVersion } from "./catalog.ts";
import { parseLabelSelector } from "./label-selector.ts";
import { type PodLogs, sendText } from "./pod-logs.ts";
import { StatusError, sendJson, sendStatus, statusBody } from "./status.ts";
import type { KubeObject, ObjectStore } from "./store.ts";

export interface Fault {
  status: number;
  times: number;
  match: { method?: string; path?: string | RegExp };
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
}

interface Route {
  type: ResourceType;
  namespace?: string;
  name?: string;
}

const APPLY_CONTENT_TYPE = "application/apply-patch+yaml";
const MERGE_CONTENT_TYPE = "application/merge-patch+json";

export class FakeKubeHandler {
  readonly requests: RequestRecord[] = [];
  readonly faults: Fault[] = [];
  latencyMs = 0;

  constructor(
    private readonly catalog: Catalog,
    private readonly store: ObjectStore,
    private readonly logs: PodLogs,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const method = req.method ?? "GET";
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const record: RequestRecord = { method, path: url.pathname, status: 200 };
    this.requests.push(record);
    const fault = this.takeFault(method, url.pathname);
    if (fault) {
      record.status = fault.status;
      sendJson(res, fault.status, statusBody(fault.status, `injected fault ${fault.status}`));
      return;
    }
    try {
      const log = this.podLog(method, url);
      if (log !== undefined) {
        sendText(res, log);
        return;
      }
      const body = await readBody(req);
      const [status, payload] = this.dispatch(method, url, req.headers["content-type"] ?? "", body);
      record.status = status;
      sendJson(res, status, payload);
    } catch (err) {
      const status = err instanceof StatusError ? err : new StatusError(500, String(err));
      record.status = status.code;
      sendStatus(res, status);
    }
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const fault = this.faults.find((f) => f.times > 0 && faultMatches(f, method, path));
    if (fault) fault.times--;
    return fault;
  }

  private dispatch(method: string, url: URL, contentType: string, body: string): [number, unknown] {
    const discovery = this.discovery(method, url.pathname);
    if (discovery) return [200, discovery];
    const route = this.route(url.pathname);
    if (method === "GET" && route.name) return [200, this.store.get(route.type, route.namespace, route.name)];
    if (method === "GET") return [200, this.list(route, url.searchParams)];
    if (method === "PATCH" && route.name) return this.patch(route, url, contentType, body);
    if (method === "POST" && !route.name) {
      const manager = url.searchParams.get("fieldManager") ?? "unknown";
      return [201, this.store.create(route.type, route.namespace, parseBody(body), manager)];
    }
    if (method === "DELETE" && route.name) return [200, this.store.delete(route.type, route.namespace, route.name)];
    throw new StatusError(405, `the server does not allow this method on the requested resource (${method} ${url.pathname})`);
  }

  /** `GET /api/v1/namespaces/{ns}/pods/{name}/log`, the one subresource served; undefined for other paths. */
  private podLog(method: string, url: URL): string | undefined {
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(url.pathname);
    if (!match) return undefined;
    if (method !== "GET") throw new StatusError(405, `the server does not allow this method on the requested resource`);
    const type = this.catalog.findKind("v1", "Pod");
    if (!type) throw new StatusError(500, "the fake serves no pods");
    const pod = this.store.get(type, decodeURIComponent(match[1]!), decodeURIComponent(match[2]!));
    return this.logs.read(pod, url.searchParams);
  }

  private patch(route: Route, url: URL, contentType: string, body: string): [number, unknown] {
    const manager = url.searchParams.get("fieldManager");
    if (contentType.startsWith(MERGE_CONTENT_TYPE)) {
      return [200, this.store.mergePatch(route.type, route.namespace, route.name!, parseBody(body), manager ?? "unknown")];
    }
    if (!contentType.startsWith(APPLY_CONTENT_TYPE)) {
      throw new StatusError(415, `the fake supports only server-side apply and JSON merge patches, not ${contentType}`);
    }
    if (!manager)
      throw new StatusError(
        400,
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      );
    const force = url.searchParams.get("force") === "true";
    const { object, created } = this.store.apply(route.type, route.namespace, route.name!, parseBody(body), manager, force);
    return [created ? 201 : 200, object];
  }

  /** Paged by `limit`/`continue` in namespace/name order; the token is the last key returned. */
  private list(route: Route, query: URLSearchParams): object {
    const all = this.store
      .list(route.type, route.namespace, parseLabelSelector(query.get("labelSelector")))
      .map((o: KubeObject) => ({ o, key: `${o.metadata.namespace ?? ""}/${o.metadata.name}` }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const after = query.get("continue") ? Buffer.from(query.get("continue")!, "base64url").toString() : undefined;
    const rest = after === undefined ? all : all.filter((x) => x.key > after);
    const limit = Number(query.get("limit") ?? 0);
    const page = limit > 0 ? rest.slice(0, limit) : rest;
    const more = page.length < rest.length;
    const custom = !this.isBuiltin(route.type);
    return {
      kind: `${route.type.kind}List`,
      apiVersion: groupVersion(route.type),
      metadata: {
        resourceVersion: this.store.resourceVersion(),
        ...(more ? { continue: Buffer.from(page.at(-1)!.key).toString("base64url") } : {}),
      },
      // Like the real API server, typed lists of built-in kinds omit kind/apiVersion on items.
      items: page.map(({ o }) => (custom ? o : withoutTypeMeta(o))),
    };
  }

  private isBuiltin(type: ResourceType): boolean {
    return BUILTIN_TYPES.includes(type);
  }

  private discovery(method: string, path: string): object | undefined {
    if (method !== "GET") return undefined;
    if (path === "/version") return { major: "1", minor: "31", gitVersion: "v1.31.0-fake", platform: "linux/amd64" };
    if (path === "/api") return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] };
    if (path === "/apis") return this.catalog.groupList();
    const core = /^\/api\/(v1)\/?$/.exec(path);
    if (core) return this.catalog.resourceList("", core[1]!);
    const grouped = /^\/apis\/([^/]+)\/([^/]+)\/?$/.exec(path);
    if (!grouped) return undefined;
    const list = this.catalog.resourceList(grouped[1]!, grouped[2]!);
    if (!list) throw new StatusError(404, "the server could not find the requested resource");
    return list;
  }

  private route(path: string): Route {
    const match = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.+)$/.exec(path);
    if (!match) throw new StatusError(404, "the server could not find the requested resource");
    const group = match[2] ?? "";
    const version = match[1] ?? match[3]!;
    const segments = match[4]!
      .split("/")
      .filter((s) => s !== "")
      .map(decodeURIComponent);
    const namespaced = segments[0] === "namespaces" && segments.length >= 3;
    const [plural, name, extra] = namespaced ? segments.slice(2) : segments;
    const type = this.catalog.find(group, version, plural ?? "");
    if (!type || extra !== undefined) throw new StatusError(404, "the server could not find the requested resource");
    if (namespaced && !type.namespaced) throw new StatusError(404, "the server could not find the requested resource");
    if (!namespaced && type.namespaced && name) throw new StatusError(404, "the server could not find the requested resource");
    return { type, namespace: namespaced ? segments[1] : undefined, name };
  }
}

function faultMatches(fault: Fault, method: string, path: string): boolean {
  const { method: m, path: p } = fault.match;
  if (m && m.toUpperCase() !== method) return false;
  if (p === undefined) return true;
  return typeof p === "string" ? path.includes(p) : p.test(path);
}

function withoutTypeMeta(o: KubeObject): KubeObject {
  const { apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

function parseBody(body: string): KubeObject {
  try {
    return parseYaml(body) as KubeObject;
  } catch (err) {
    throw new StatusError(400, `error decoding body: ${(err as Error).message}`);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
