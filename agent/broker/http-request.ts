import http, { type IncomingMessage } from "node:http";
import https from "node:https";

// Why not the global fetch: its first call loads Node's bundled undici, ~8 MB of the idle agent's
// RSS (npm run bench:agent-memory), while node:http is loaded anyway (health server, ws, the
// Kubernetes client). Both keep connections alive (Node 20's global agents do), neither follows
// a redirect here, and an abort rejects with the signal's reason, as fetch does.

export interface HttpRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export interface HttpAnswer {
  status: number;
  statusText: string;
  ok: boolean;
  /** The whole body as UTF-8 text. */
  text(): Promise<string>;
  /** Reads at most `maxBytes` of the body, then drops the rest (and the connection with it). */
  discard(maxBytes: number): Promise<void>;
}

const reasonOf = (signal: AbortSignal | undefined, err: unknown) => (signal?.aborted ? signal.reason : err);

/** One request; resolves once the status line and headers have arrived. */
export function httpRequest(url: string, init: HttpRequestInit = {}): Promise<HttpAnswer> {
  const target = new URL(url);
  const client = target.protocol === "https:" ? https : http;
  const { signal } = init;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body !== undefined) headers["content-length"] = Buffer.byteLength(init.body);
    const req = client.request(target, { method: init.method ?? "GET", headers, signal }, (res) => resolve(answer(res, signal)));
    req.on("error", (err) => reject(reasonOf(signal, err)));
    req.end(init.body);
  });
}

function answer(res: IncomingMessage, signal: AbortSignal | undefined): HttpAnswer {
  const status = res.statusCode ?? 0;
  return {
    status,
    statusText: res.statusMessage ?? "",
    ok: status >= 200 && status < 300,
    text: () => readBody(res, signal, Number.POSITIVE_INFINITY).then((b) => b.toString("utf8")),
    discard: async (maxBytes) => {
      await readBody(res, signal, maxBytes);
    },
  };
}

/** The body up to `maxBytes`; a body cut short destroys the response (its socket is not reused). */
function readBody(res: IncomingMessage, signal: AbortSignal | undefined, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let read = 0;
    if (read >= maxBytes) {
      res.destroy();
      return resolve(Buffer.alloc(0));
    }
    res.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      read += chunk.length;
      if (read >= maxBytes) {
        res.destroy();
        resolve(Buffer.concat(chunks));
      }
    });
    res.on("end", () => resolve(Buffer.concat(chunks)));
    res.on("error", (err) => reject(reasonOf(signal, err)));
    res.on("close", () => {
      if (!res.complete) reject(reasonOf(signal, new Error("the response was cut short")));
    });
  });
}
