import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { httpRequest } from "./http-request.ts";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server | undefined;
afterEach(async () => {
  const open = server;
  server = undefined;
  if (!open) return;
  open.closeAllConnections();
  await new Promise((r) => open.close(r));
});

async function receiver(handler: Handler): Promise<string> {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => handler(req, res, body));
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("httpRequest", () => {
  it("sends method, headers and body, and reads the status and the whole text", async () => {
    const base = await receiver((req, res, body) => {
      res.writeHead(201, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ method: req.method, auth: req.headers.authorization, length: req.headers["content-length"], body }),
      );
    });
    const res = await httpRequest(`${base}/x?y=1`, { method: "PATCH", headers: { authorization: "Bearer t" }, body: "héllo" });
    expect([res.status, res.ok]).toEqual([201, true]);
    expect(JSON.parse(await res.text())).toEqual({ method: "PATCH", auth: "Bearer t", length: "6", body: "héllo" });
  });

  it("answers a non-2xx and a redirect as they are, without following", async () => {
    const base = await receiver((req, res) => {
      if (req.url === "/moved") res.writeHead(302, { location: "/elsewhere" }).end();
      else res.writeHead(500).end("boom");
    });
    const moved = await httpRequest(`${base}/moved`);
    expect([moved.status, moved.ok]).toEqual([302, false]);
    const failed = await httpRequest(`${base}/fail`);
    expect([failed.status, failed.ok, failed.statusText, await failed.text()]).toEqual([
      500,
      false,
      "Internal Server Error",
      "boom",
    ]);
  });

  it("rejects with the signal's reason when it times out before or during the answer", async () => {
    const base = await receiver((req, res) => {
      if (req.url === "/slow-body") res.writeHead(200).write("partial");
      // otherwise never answers
    });
    const silent = httpRequest(`${base}/silent`, { signal: AbortSignal.timeout(100) });
    await expect(silent).rejects.toMatchObject({ name: "TimeoutError" });
    const res = await httpRequest(`${base}/slow-body`, { signal: AbortSignal.timeout(200) });
    await expect(res.text()).rejects.toMatchObject({ name: "TimeoutError" });
  });

  it("rejects at once when the signal is already aborted", async () => {
    const base = await receiver((_req, res) => res.end("never asked"));
    const controller = new AbortController();
    controller.abort(new Error("stopping"));
    await expect(httpRequest(base, { signal: controller.signal })).rejects.toThrow("stopping");
  });

  it("reads at most the cap of a large body and then drops it", async () => {
    let ended = false;
    const base = await receiver((_req, res) => {
      res.writeHead(200);
      const chunk = "x".repeat(64 * 1024);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) {}
        if (!res.destroyed) res.once("drain", pump);
      };
      res.on("close", () => (ended = true));
      pump();
    });
    const res = await httpRequest(base);
    await res.discard(4096);
    await expect.poll(() => ended).toBe(true);
  });

  it("rejects when the connection is refused", async () => {
    const base = await receiver(() => {});
    await new Promise((r) => server!.close(r));
    server = undefined;
    await expect(httpRequest(base)).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });
});
