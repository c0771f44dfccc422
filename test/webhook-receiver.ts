import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, vi } from "vitest";

export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  path: string;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Answers each request with this status (200 unless changed). */
  respond: (req: Received) => number;
  /** Resolves once `n` requests have arrived. */
  waitFor(n: number): Promise<Received[]>;
  close(): Promise<void>;
}

/** A real HTTP server on port 0 that records every webhook POST it receives; closed after the file. */
export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const entry = { headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), path: req.url ?? "" };
      received.push(entry);
      res.statusCode = receiver.respond(entry);
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}`,
    received,
    respond: () => 200,
    async waitFor(n) {
      await vi.waitFor(() => {
        if (received.length < n) throw new Error(`${received.length} of ${n} webhooks received`);
      });
      return received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  afterAll(() => receiver.close());
  return receiver;
}
