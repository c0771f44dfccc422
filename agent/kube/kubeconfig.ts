import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { type CredentialSource, ExecCredentialPlugin, FileToken, staticCredentials } from "./credentials.ts";

/**
 * Where the agent finds a cluster when no kubeconfig path is configured: the standard Kubernetes
 * variables, read by agent/config.ts (the agent's only reader of process.env) and passed in.
 */
export interface KubeEnvironment {
  /** $KUBECONFIG: one or more kubeconfig paths, joined by the platform's path delimiter. */
  kubeconfig?: string;
  home?: string;
  serviceHost?: string;
  servicePort?: string;
  /** The pod's service account files (token, ca.crt, namespace); overridable for tests. */
  serviceAccountDir?: string;
}

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** One resolved cluster connection: the current context of a kubeconfig, or the pod's service account. */
export interface KubeConfig {
  /** Where it came from (a path, or "in-cluster"), for messages. */
  source: string;
  server: string;
  /** The context's namespace, else "default": where a namespaced object without one goes. */
  namespace: string;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; insecure: boolean; serverName?: string };
  credentials: CredentialSource;
}

const ExecConfig = z.object({
  apiVersion: z.string(),
  command: z.string().min(1),
  args: z.array(z.string()).nullish(),
  env: z.array(z.object({ name: z.string(), value: z.string() })).nullish(),
  provideClusterInfo: z.boolean().nullish(),
  interactiveMode: z.string().nullish(),
});
export type ExecConfig = z.infer<typeof ExecConfig>;

const Cluster = z.object({
  server: z.string().min(1),
  "certificate-authority": z.string().nullish(),
  "certificate-authority-data": z.string().nullish(),
  "insecure-skip-tls-verify": z.boolean().nullish(),
  "tls-server-name": z.string().nullish(),
  "proxy-url": z.string().nullish(),
});

const User = z.object({
  "client-certificate": z.string().nullish(),
  "client-certificate-data": z.string().nullish(),
  "client-key": z.string().nullish(),
  "client-key-data": z.string().nullish(),
  token: z.string().nullish(),
  tokenFile: z.string().nullish(),
  username: z.string().nullish(),
  password: z.string().nullish(),
  exec: ExecConfig.nullish(),
  "auth-provider": z.unknown().optional(),
});

const KubeconfigFile = z.object({
  "current-context": z.string().nullish(),
  clusters: z.array(z.object({ name: z.string(), cluster: Cluster })).nullish(),
  users: z.array(z.object({ name: z.string(), user: User.nullish() })).nullish(),
  contexts: z
    .array(
      z.object({
        name: z.string(),
        context: z.object({ cluster: z.string(), user: z.string().nullish(), namespace: z.string().nullish() }),
      }),
    )
    .nullish(),
});
type KubeconfigFile = z.infer<typeof KubeconfigFile>;
type Entry<K extends "clusters" | "users" | "contexts"> = NonNullable<KubeconfigFile[K]>[number] & { dir: string };

export class KubeconfigError extends Error {
  override name = "KubeconfigError";
}

/** From the given kubeconfig path, else the in-cluster service account, else $KUBECONFIG or ~/.kube/config. */
export function loadKubeConfig(kubeconfigPath?: string, env: KubeEnvironment = {}): KubeConfig {
  if (kubeconfigPath) return loadKubeconfigFiles([kubeconfigPath]);
  const saDir = env.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (existsSync(join(saDir, "token"))) return loadInCluster(env);
  const paths = env.kubeconfig?.split(delimiter).filter(Boolean) ?? [];
  if (paths.length > 0) return loadKubeconfigFiles(paths.filter((p) => existsSync(p)));
  return loadKubeconfigFiles([join(env.home ?? homedir(), ".kube", "config")]);
}

/** The pod's service account: the token file is re-read as the kubelet rotates it. */
export function loadInCluster(env: KubeEnvironment): KubeConfig {
  const saDir = env.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (!env.serviceHost || !env.servicePort)
    throw new KubeconfigError("in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  const host = env.serviceHost.includes(":") ? `[${env.serviceHost}]` : env.serviceHost;
  const caPath = join(saDir, "ca.crt");
  const nsPath = join(saDir, "namespace");
  return {
    source: "in-cluster",
    server: `https://${host}:${env.servicePort}`,
    namespace: existsSync(nsPath) ? readFileSync(nsPath, "utf8").trim() || "default" : "default",
    tls: { ca: existsSync(caPath) ? readFileSync(caPath) : undefined, insecure: false },
    credentials: new FileToken(join(saDir, "token")),
  };
}

/** Several kubeconfig files merge as kubectl merges them: the first to name a thing wins. */
export function loadKubeconfigFiles(paths: string[]): KubeConfig {
  if (paths.length === 0) throw new KubeconfigError("no kubeconfig found");
  const merged = { current: undefined as string | undefined, clusters: [], users: [], contexts: [] } as {
    current?: string;
    clusters: Entry<"clusters">[];
    users: Entry<"users">[];
    contexts: Entry<"contexts">[];
  };
  for (const path of paths) {
    const file = parseKubeconfig(readText(path), path);
    const dir = dirname(resolve(path));
    merged.current ??= file["current-context"] ?? undefined;
    merged.clusters.push(...(file.clusters ?? []).map((c) => ({ ...c, dir })));
    merged.users.push(...(file.users ?? []).map((u) => ({ ...u, dir })));
    merged.contexts.push(...(file.contexts ?? []).map((c) => ({ ...c, dir })));
  }
  return resolveContext(merged, paths.join(delimiter));
}

function parseKubeconfig(text: string, path: string): KubeconfigFile {
  const parsed = KubeconfigFile.safeParse(parse(text) ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KubeconfigError(`${path}: ${issue?.path.join(".") ?? ""} ${issue?.message ?? "is not a kubeconfig"}`);
  }
  return parsed.data;
}

function resolveContext(
  m: { current?: string; clusters: Entry<"clusters">[]; users: Entry<"users">[]; contexts: Entry<"contexts">[] },
  source: string,
): KubeConfig {
  if (!m.current) throw new KubeconfigError(`${source}: no current-context`);
  const context = m.contexts.find((c) => c.name === m.current);
  if (!context) throw new KubeconfigError(`${source}: context "${m.current}" not found`);
  const cluster = m.clusters.find((c) => c.name === context.context.cluster);
  if (!cluster) throw new KubeconfigError(`${source}: cluster "${context.context.cluster}" not found`);
  const user = context.context.user ? m.users.find((u) => u.name === context.context.user) : undefined;
  if (context.context.user && !user) throw new KubeconfigError(`${source}: user "${context.context.user}" not found`);
  const c = cluster.cluster;
  const u = user?.user ?? {};
  if (u["auth-provider"] !== undefined && !u.exec && !u.token && !u.tokenFile)
    throw new KubeconfigError(`${source}: user "${user?.name}": auth-provider is not supported; use an exec credential plugin`);
  if (c["proxy-url"]) throw new KubeconfigError(`${source}: cluster "${cluster.name}": proxy-url is not supported`);
  const ca = material(c["certificate-authority-data"], c["certificate-authority"], cluster.dir);
  return {
    source,
    server: c.server,
    namespace: context.context.namespace || "default",
    tls: {
      ca,
      cert: material(u["client-certificate-data"], u["client-certificate"], user?.dir ?? ""),
      key: material(u["client-key-data"], u["client-key"], user?.dir ?? ""),
      insecure: c["insecure-skip-tls-verify"] === true,
      serverName: c["tls-server-name"] ?? undefined,
    },
    credentials: credentialsOf(u, user?.dir ?? "", { server: c.server, ca, insecure: c["insecure-skip-tls-verify"] === true }),
  };
}

function credentialsOf(u: z.infer<typeof User>, dir: string, cluster: { server: string; ca?: Buffer; insecure: boolean }) {
  if (u.exec) return new ExecCredentialPlugin(u.exec, cluster, dir);
  if (u.token) return staticCredentials({ authorization: `Bearer ${u.token}` });
  if (u.tokenFile) return new FileToken(resolve(dir, u.tokenFile));
  if (u.username && u.password)
    return staticCredentials({ authorization: `Basic ${Buffer.from(`${u.username}:${u.password}`).toString("base64")}` });
  return staticCredentials({});
}

/** Inline base64 data wins over a file; a relative file is relative to its kubeconfig, as kubectl reads it. */
function material(data: string | null | undefined, file: string | null | undefined, dir: string): Buffer | undefined {
  if (data) return Buffer.from(data, "base64");
  if (file) return readFileSync(resolve(dir, file));
  return undefined;
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new KubeconfigError(`cannot read kubeconfig ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
