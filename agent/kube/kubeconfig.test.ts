import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ExecCredentialPlugin, FileToken } from "./credentials.ts";
import { KubeconfigError, loadKubeConfig, loadKubeconfigFiles } from "./kubeconfig.ts";

let dir: string;
beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), "brokkr-kubeconfig-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (s: string) => Buffer.from(s).toString("base64");

function writeKubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}, name = "config.yaml") {
  const path = join(dir, name);
  writeFileSync(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "prod",
      clusters: [
        { name: "other", cluster: { server: "https://other:6443" } },
        { name: "main", cluster: { server: "https://api.example:6443", ...cluster } },
      ],
      users: [{ name: "me", user }],
      contexts: [
        { name: "dev", context: { cluster: "other", user: "me" } },
        { name: "prod", context: { cluster: "main", user: "me", namespace: "apps" } },
      ],
    }),
  );
  return path;
}

/** A real exec credential plugin: a shell script that counts its runs and prints what it is given. */
function writePlugin(status: string, apiVersion = "client.authentication.k8s.io/v1"): string {
  const path = join(dir, "plugin.sh");
  writeFileSync(
    path,
    `#!/bin/sh\necho run >> "${dir}/runs"\nprintf '%s' "$KUBERNETES_EXEC_INFO" > "${dir}/exec-info"\nprintf '%s' "$GREETING" > "${dir}/env"\n` +
      `cat <<EOF\n{"apiVersion":"${apiVersion}","kind":"ExecCredential","status":${status}}\nEOF\n`,
  );
  chmodSync(path, 0o755);
  return path;
}
const runs = () => readFileSync(join(dir, "runs"), "utf8").split("\n").filter(Boolean).length;

describe("loadKubeConfig", () => {
  it("takes the current context's cluster, namespace, inline certificates and token", async () => {
    const path = writeKubeconfig(
      { token: "t0k", "client-certificate-data": b64("CERT"), "client-key-data": b64("KEY") },
      { "certificate-authority-data": b64("CA"), "tls-server-name": "kubernetes" },
    );
    const kc = loadKubeConfig(path);
    expect(kc.server).toBe("https://api.example:6443");
    expect(kc.namespace).toBe("apps");
    expect([kc.tls.ca?.toString(), kc.tls.cert?.toString(), kc.tls.key?.toString()]).toEqual(["CA", "CERT", "KEY"]);
    expect(kc.tls).toMatchObject({ insecure: false, serverName: "kubernetes" });
    expect(await kc.credentials.get()).toEqual({ authorization: "Bearer t0k" });
  });

  it("reads certificate files relative to the kubeconfig's folder, and insecure-skip-tls-verify", () => {
    mkdirSync(join(dir, "pki"));
    writeFileSync(join(dir, "pki", "ca.crt"), "CA FILE");
    writeFileSync(join(dir, "pki", "me.crt"), "CERT FILE");
    writeFileSync(join(dir, "pki", "me.key"), "KEY FILE");
    const path = writeKubeconfig(
      { "client-certificate": "pki/me.crt", "client-key": join(dir, "pki", "me.key") },
      { "certificate-authority": "pki/ca.crt", "insecure-skip-tls-verify": true },
    );
    const kc = loadKubeConfig(path);
    expect([kc.tls.ca?.toString(), kc.tls.cert?.toString(), kc.tls.key?.toString()]).toEqual([
      "CA FILE",
      "CERT FILE",
      "KEY FILE",
    ]);
    expect(kc.tls.insecure).toBe(true);
  });

  it("re-reads a tokenFile once its minute is up", async () => {
    writeFileSync(join(dir, "token"), "first\n");
    let now = 0;
    const token = new FileToken(join(dir, "token"), () => now);
    expect(await token.get()).toEqual({ authorization: "Bearer first" });
    writeFileSync(join(dir, "token"), "second\n");
    now = 59_000;
    expect(await token.get()).toEqual({ authorization: "Bearer first" });
    now = 60_000;
    expect(await token.get()).toEqual({ authorization: "Bearer second" });
    const kc = loadKubeConfig(writeKubeconfig({ tokenFile: "token" }));
    expect(await kc.credentials.get()).toEqual({ authorization: "Bearer second" });
  });

  it("sends basic credentials for a username and password", async () => {
    const kc = loadKubeConfig(writeKubeconfig({ username: "admin", password: "pw" }));
    expect(await kc.credentials.get()).toEqual({ authorization: `Basic ${b64("admin:pw")}` });
  });

  it("merges $KUBECONFIG's files, the first to name a thing winning", () => {
    const first = join(dir, "first.yaml");
    writeFileSync(
      first,
      stringify({ "current-context": "dev", clusters: [{ name: "other", cluster: { server: "https://first:1" } }] }),
    );
    const second = writeKubeconfig({ token: "x" });
    const kc = loadKubeConfig(undefined, { kubeconfig: `${first}:${join(dir, "missing")}:${second}`, serviceAccountDir: dir });
    expect(kc.server).toBe("https://first:1");
    expect(kc.namespace).toBe("default");
  });

  it("names what is missing or unsupported", () => {
    expect(() => loadKubeconfigFiles([join(dir, "nope")])).toThrow(/cannot read kubeconfig .*ENOENT/);
    const noContext = join(dir, "empty.yaml");
    writeFileSync(noContext, "clusters: []\n");
    expect(() => loadKubeConfig(noContext)).toThrow(KubeconfigError);
    expect(() => loadKubeConfig(noContext)).toThrow(/no current-context/);
    expect(() => loadKubeConfig(writeKubeconfig({ "auth-provider": { name: "oidc" } }))).toThrow(
      /auth-provider is not supported/,
    );
    expect(() => loadKubeConfig(writeKubeconfig({}, { "proxy-url": "http://proxy:3128" }))).toThrow(/proxy-url is not supported/);
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, stringify({ "current-context": "x", clusters: [{ name: "x", cluster: {} }] }));
    expect(() => loadKubeConfig(bad)).toThrow(/clusters\.0\.cluster\.server/);
  });
});

describe("in-cluster configuration", () => {
  it("uses the service account's token, CA and namespace, and follows the token as it rotates", async () => {
    writeFileSync(join(dir, "token"), "sa-token-1");
    writeFileSync(join(dir, "ca.crt"), "CLUSTER CA");
    writeFileSync(join(dir, "namespace"), "brokkr\n");
    const kc = loadKubeConfig(undefined, { serviceHost: "10.0.0.1", servicePort: "443", serviceAccountDir: dir });
    expect(kc).toMatchObject({ source: "in-cluster", server: "https://10.0.0.1:443", namespace: "brokkr" });
    expect(kc.tls.ca?.toString()).toBe("CLUSTER CA");
    expect(await kc.credentials.get()).toEqual({ authorization: "Bearer sa-token-1" });
    writeFileSync(join(dir, "token"), "sa-token-2");
    kc.credentials.invalidate();
    expect(await kc.credentials.get()).toEqual({ authorization: "Bearer sa-token-2" });
  });

  it("brackets an IPv6 service host and refuses a pod without the service variables", () => {
    writeFileSync(join(dir, "token"), "t");
    expect(loadKubeConfig(undefined, { serviceHost: "fd00::1", servicePort: "443", serviceAccountDir: dir }).server).toBe(
      "https://[fd00::1]:443",
    );
    expect(() => loadKubeConfig(undefined, { serviceAccountDir: dir })).toThrow(/KUBERNETES_SERVICE_HOST/);
  });
});

describe("exec credential plugins", () => {
  const exec = (command: string, more: Record<string, unknown> = {}) => ({
    apiVersion: "client.authentication.k8s.io/v1",
    command,
    args: [],
    env: [{ name: "GREETING", value: "hello" }],
    interactiveMode: "Never",
    ...more,
  });

  it("runs the plugin with its env and cluster info, and keeps the token until it expires", async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const path = writeKubeconfig(
      { exec: exec(writePlugin(`{"token":"from-plugin","expirationTimestamp":"${later}"}`), { provideClusterInfo: true }) },
      { "certificate-authority-data": b64("CA") },
    );
    const kc = loadKubeConfig(path);
    const [a, b] = await Promise.all([kc.credentials.get(), kc.credentials.get()]);
    expect(a).toEqual({ authorization: "Bearer from-plugin" });
    expect(b).toEqual(a);
    await kc.credentials.get();
    expect(runs()).toBe(1);
    expect(readFileSync(join(dir, "env"), "utf8")).toBe("hello");
    expect(JSON.parse(readFileSync(join(dir, "exec-info"), "utf8"))).toEqual({
      apiVersion: "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      spec: {
        interactive: false,
        cluster: {
          server: "https://api.example:6443",
          "certificate-authority-data": b64("CA"),
          "insecure-skip-tls-verify": false,
        },
      },
    });
    kc.credentials.invalidate();
    await kc.credentials.get();
    expect(runs()).toBe(2);
  });

  it("runs it again once the credential has expired", async () => {
    const expiry = "2030-01-01T00:00:00Z";
    let now = Date.parse(expiry) - 1;
    const plugin = new ExecCredentialPlugin(
      exec(writePlugin(`{"token":"t","expirationTimestamp":"${expiry}"}`, "client.authentication.k8s.io/v1beta1"), {
        apiVersion: "client.authentication.k8s.io/v1beta1",
      }),
      { server: "https://x", insecure: false },
      dir,
      () => now,
    );
    await plugin.get();
    await plugin.get();
    expect(runs()).toBe(1);
    now = Date.parse(expiry);
    await plugin.get();
    expect(runs()).toBe(2);
  });

  it("takes a client certificate from the plugin", async () => {
    const kc = loadKubeConfig(
      writeKubeconfig({ exec: exec(writePlugin(`{"clientCertificateData":"PEM C","clientKeyData":"PEM K"}`)) }),
    );
    const got = await kc.credentials.get();
    expect([got.cert?.toString(), got.key?.toString(), got.authorization]).toEqual(["PEM C", "PEM K", undefined]);
  });

  it("reports a failing plugin, a wrong answer and an unsupported version", async () => {
    const failing = join(dir, "fail.sh");
    writeFileSync(failing, "#!/bin/sh\necho 'no credentials here' >&2\nexit 3\n");
    chmodSync(failing, 0o755);
    await expect(loadKubeConfig(writeKubeconfig({ exec: exec(failing) })).credentials.get()).rejects.toThrow(
      /failed \(exit code 3\): no credentials here/,
    );
    const wrongVersion = writePlugin(`{"token":"t"}`, "client.authentication.k8s.io/v1beta1");
    await expect(loadKubeConfig(writeKubeconfig({ exec: exec(wrongVersion) })).credentials.get()).rejects.toThrow(
      /answered .*v1beta1/,
    );
    await expect(loadKubeConfig(writeKubeconfig({ exec: exec(writePlugin("{}")) })).credentials.get()).rejects.toThrow(
      /neither a token nor a client certificate/,
    );
    expect(() =>
      loadKubeConfig(writeKubeconfig({ exec: exec(failing, { apiVersion: "client.authentication.k8s.io/v1alpha1" }) })),
    ).toThrow(/v1alpha1 is not supported/);
  });
});
