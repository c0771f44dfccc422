import type { IncomingMessage, ServerResponse } from "node:http";
import { type Server, createServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { generate } from "selfsigned";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeKube, startFakeKube } from "../../test/fake-kube/index.ts";
import { createKubeClients, loadKubeConfig } from "./client.ts";
import { staticCredentials } from "./credentials.ts";
import { KubeApiError } from "./http.ts";
import type { KubeConfig } from "./kubeconfig.ts";
import { describeKubeError, isNotFound, statusCodeOf, withTransientRetry } from "./retry.ts";

/** A real HTTPS server with a generated certificate (for 127.0.0.1) that asks for, and records, client certificates. */
let pki: Awaited<ReturnType<typeof generate>>;
let server: Server;
let url: string;
const seen: { authorization?: string; clientCn?: string; path?: string }[] = [];
let answer: (req: IncomingMessage, res: ServerResponse) => void;

beforeAll(async () => {
  pki = await generate([{ name: "commonName", value: "kube-apiserver" }], {
    keySize: 2048,
    algorithm: "sha256",
    clientCertificate: { cn: "brokkr-agent", algorithm: "sha256" },
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] },
    ],
  });
  server = createServer(
    { key: pki.private, cert: pki.cert, ca: pki.cert, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      seen.push({
        authorization: req.headers.authorization,
        clientCn: String(peer?.subject?.CN ?? "") || undefined,
        path: req.url,
      });
      answer(req, res);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => {
  seen.length = 0;
  answer = (_req, res) =>
    res.writeHead(200, { "content-type": "application/json" }).end('{"major":"1","minor":"31","gitVersion":"v1.31.0"}');
});

const config = (tls: Partial<KubeConfig["tls"]>, token = "s3cret"): KubeConfig => ({
  source: "test",
  server: url,
  namespace: "default",
  tls: { insecure: false, ...tls },
  credentials: staticCredentials({ authorization: `Bearer ${token}` }),
});

describe("TLS to the API server", () => {
  it("trusts the server through the kubeconfig's CA and sends the bearer token", async () => {
    const { version } = createKubeClients(config({ ca: Buffer.from(pki.cert) }));
    expect(await version.getCode()).toMatchObject({ gitVersion: "v1.31.0" });
    expect(seen).toEqual([{ authorization: "Bearer s3cret", clientCn: undefined, path: "/version" }]);
  });

  it("refuses a server its CA did not sign, unless insecure-skip-tls-verify is set", async () => {
    await expect(createKubeClients(config({})).version.getCode()).rejects.toThrow(/self[- ]signed|unable to verify/i);
    expect(seen).toEqual([]);
    await expect(createKubeClients(config({ insecure: true })).version.getCode()).resolves.toMatchObject({ major: "1" });
  });

  it("presents the kubeconfig's client certificate", async () => {
    const tls = { ca: Buffer.from(pki.cert), cert: Buffer.from(pki.clientcert ?? ""), key: Buffer.from(pki.clientprivate ?? "") };
    await createKubeClients(config(tls)).version.getCode();
    expect(seen[0]?.clientCn).toBe("brokkr-agent");
  });

  it("presents a client certificate the credentials give, and asks them anew once after a 401", async () => {
    let calls = 0;
    const kc: KubeConfig = {
      ...config({ ca: Buffer.from(pki.cert) }),
      credentials: {
        get: async () =>
          calls++ === 0
            ? { authorization: "Bearer stale" }
            : { cert: Buffer.from(pki.clientcert ?? ""), key: Buffer.from(pki.clientprivate ?? "") },
        invalidate: () => true,
      },
    };
    answer = (req, res) =>
      req.headers.authorization
        ? res
            .writeHead(401, { "content-type": "application/json" })
            .end('{"kind":"Status","reason":"Unauthorized","message":"Unauthorized"}')
        : res.writeHead(200, { "content-type": "application/json" }).end("{}");
    await createKubeClients(kc).version.getCode();
    expect(seen.map((s) => [s.authorization, s.clientCn])).toEqual([
      ["Bearer stale", undefined],
      [undefined, "brokkr-agent"],
    ]);
  });

  it("does not repeat a request refused with 401 when the credentials cannot be renewed", async () => {
    answer = (_req, res) =>
      res.writeHead(401, { "content-type": "application/json" }).end('{"kind":"Status","message":"Unauthorized"}');
    const err = await createKubeClients(config({ ca: Buffer.from(pki.cert) }))
      .version.getCode()
      .catch((e: unknown) => e);
    expect(statusCodeOf(err)).toBe(401);
    expect(seen).toHaveLength(1);
  });
});

describe("API errors", () => {
  let kube: FakeKube;
  beforeAll(async () => void (kube = await startFakeKube()));
  afterAll(() => kube.stop());

  it("carries the status code and the Status body, and a transient status is retried", async () => {
    const { objects } = createKubeClients(loadKubeConfig(kube.kubeconfigPath));
    const header = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "absent", namespace: "default" } };
    const err = await objects.read(header).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect([statusCodeOf(err), isNotFound(err)]).toEqual([404, true]);
    expect(describeKubeError(err)).toBe('Kubernetes API 404 NotFound: configmaps "absent" not found');

    await objects.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "present", namespace: "default" } });
    kube.injectFault({ status: 503, times: 2, match: { method: "GET", path: "/configmaps/present" } });
    kube.injectFault({ status: 429, times: 1, match: { method: "GET", path: "/configmaps/present" } });
    const retry = { attempts: 6, baseMs: 1, maxMs: 1 };
    const live = await withTransientRetry(
      () => objects.read({ ...header, metadata: { ...header.metadata, name: "present" } }),
      retry,
    );
    expect(live.metadata?.name).toBe("present");
    expect(kube.requests().filter((r) => r.method === "GET" && r.path.endsWith("/configmaps/present"))).toHaveLength(4);
  });

  it("says which kinds the cluster does not serve", async () => {
    const { objects } = createKubeClients(loadKubeConfig(kube.kubeconfigPath));
    expect(await objects.resourceFor("v1", "Nothing")).toBeUndefined();
    const err = await objects.list("example.com/v1", "Widget").catch((e: unknown) => e);
    expect(statusCodeOf(err)).toBe(404);
    await expect(objects.read({ apiVersion: "v1", kind: "Nothing", metadata: { name: "x" } })).rejects.toThrow(
      "Unrecognized API version and kind: v1 Nothing",
    );
  });
});
