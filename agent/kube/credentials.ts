import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { ExecConfig } from "./kubeconfig.ts";

/** What one request presents: an Authorization header, and a client certificate an exec plugin gave. */
export interface Credentials {
  authorization?: string;
  cert?: Buffer;
  key?: Buffer;
}

export interface CredentialSource {
  get(): Promise<Credentials>;
  /** The API server answered 401: the next get() fetches anew. False when there is nothing to fetch anew. */
  invalidate(): boolean;
}

export function staticCredentials(credentials: Credentials): CredentialSource {
  return { get: async () => credentials, invalidate: () => false };
}

/** How long a token file is trusted before it is read again (client-go re-reads every minute too). */
const TOKEN_FILE_TTL_MS = 60_000;

/** A bearer token in a file (a projected service-account token the kubelet rotates, or tokenFile). */
export class FileToken implements CredentialSource {
  private cached?: { authorization: string; at: number };

  constructor(
    private readonly path: string,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<Credentials> {
    if (!this.cached || this.now() - this.cached.at >= TOKEN_FILE_TTL_MS) {
      this.cached = { authorization: `Bearer ${readFileSync(this.path, "utf8").trim()}`, at: this.now() };
    }
    return { authorization: this.cached.authorization };
  }

  invalidate(): boolean {
    this.cached = undefined;
    return true;
  }
}

const EXEC_API_VERSIONS = new Set(["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"]);
const PLUGIN_TIMEOUT_MS = 60_000;

const ExecCredential = z.object({
  apiVersion: z.string(),
  kind: z.literal("ExecCredential"),
  status: z.object({
    token: z.string().nullish(),
    clientCertificateData: z.string().nullish(),
    clientKeyData: z.string().nullish(),
    expirationTimestamp: z.string().nullish(),
  }),
});

/**
 * A client-go exec credential plugin (client.authentication.k8s.io/v1 or v1beta1), run without a
 * terminal; what it returns is kept until its expirationTimestamp (for good when it has none) or a
 * 401. Calls made while it runs wait for the same run.
 */
export class ExecCredentialPlugin implements CredentialSource {
  private cached?: { credentials: Credentials; expiresAt: number };
  private running?: Promise<Credentials>;

  constructor(
    private readonly exec: ExecConfig,
    private readonly cluster: { server: string; ca?: Buffer; insecure: boolean },
    private readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {
    if (!EXEC_API_VERSIONS.has(exec.apiVersion))
      throw new Error(`exec plugin ${exec.command}: apiVersion ${exec.apiVersion} is not supported (v1 or v1beta1)`);
    if (exec.interactiveMode === "Always")
      throw new Error(`exec plugin ${exec.command}: interactiveMode Always needs a terminal, which the agent has not`);
  }

  get(): Promise<Credentials> {
    if (this.cached && this.now() < this.cached.expiresAt) return Promise.resolve(this.cached.credentials);
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  invalidate(): boolean {
    this.cached = undefined;
    return true;
  }

  private async run(): Promise<Credentials> {
    const out = await this.spawn();
    let parsed: z.infer<typeof ExecCredential>;
    try {
      parsed = ExecCredential.parse(JSON.parse(out));
    } catch {
      throw new Error(`exec plugin ${this.exec.command}: its output is not an ExecCredential`);
    }
    if (parsed.apiVersion !== this.exec.apiVersion)
      throw new Error(`exec plugin ${this.exec.command}: answered ${parsed.apiVersion}, asked ${this.exec.apiVersion}`);
    const s = parsed.status;
    if (!s.token && !(s.clientCertificateData && s.clientKeyData))
      throw new Error(`exec plugin ${this.exec.command}: gave neither a token nor a client certificate and key`);
    const credentials: Credentials = {
      ...(s.token ? { authorization: `Bearer ${s.token}` } : {}),
      ...(s.clientCertificateData && s.clientKeyData
        ? { cert: Buffer.from(s.clientCertificateData), key: Buffer.from(s.clientKeyData) }
        : {}),
    };
    const expiresAt = s.expirationTimestamp ? Date.parse(s.expirationTimestamp) : Number.POSITIVE_INFINITY;
    this.cached = { credentials, expiresAt: Number.isNaN(expiresAt) ? 0 : expiresAt };
    return credentials;
  }

  private spawn(): Promise<string> {
    const spec: Record<string, unknown> = { interactive: false };
    if (this.exec.provideClusterInfo) {
      spec.cluster = {
        server: this.cluster.server,
        "certificate-authority-data": this.cluster.ca?.toString("base64"),
        "insecure-skip-tls-verify": this.cluster.insecure,
      };
    }
    const info = JSON.stringify({ apiVersion: this.exec.apiVersion, kind: "ExecCredential", spec });
    const extra = Object.fromEntries((this.exec.env ?? []).map((e) => [e.name, e.value]));
    // The plugin inherits the agent's environment, as kubectl's plugins inherit kubectl's.
    const env = { ...process.env, ...extra, KUBERNETES_EXEC_INFO: info };
    // A relative command path is relative to the kubeconfig's folder, as client-go resolves it.
    const command =
      this.exec.command.includes("/") && !this.exec.command.startsWith("/")
        ? `${this.dir}/${this.exec.command}`
        : this.exec.command;
    return new Promise((resolve, reject) => {
      execFile(command, this.exec.args ?? [], { env, timeout: PLUGIN_TIMEOUT_MS, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const why = typeof err.code === "number" ? `exit code ${err.code}` : String(err.code ?? err.message);
        reject(new Error(`exec plugin ${this.exec.command} failed (${why})${stderr ? `: ${stderr.trim().slice(0, 300)}` : ""}`));
      });
    });
  }
}
