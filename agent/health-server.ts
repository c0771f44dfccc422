import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";

export interface HealthServerDeps {
  /** Broker connected and Kubernetes reachable. */
  ready(): boolean;
  status(): object;
  registry: Registry;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/** /healthz (process up), /readyz, /health (JSON) and /metrics (Prometheus). */
export async function startHealthServer(port: number, deps: HealthServerDeps): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://agent").pathname;
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { "content-type": type });
      res.end(body);
    };
    if (req.method !== "GET") return send(405, "text/plain", "method not allowed\n");
    if (path === "/healthz") return send(200, "text/plain", "ok\n");
    if (path === "/readyz") return deps.ready() ? send(200, "text/plain", "ready\n") : send(503, "text/plain", "not ready\n");
    if (path === "/health") return send(200, "application/json", JSON.stringify(deps.status()));
    if (path === "/metrics") {
      deps.registry.metrics().then(
        (text) => send(200, deps.registry.contentType, text),
        (err: unknown) => send(500, "text/plain", `${String(err)}\n`),
      );
      return;
    }
    send(404, "text/plain", "not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the health server is not on a TCP port");
  return {
    port: address.port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
