/** What one POST came to: the status (null when none arrived) or why it failed, and how long it took. */
export interface PostOutcome {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** At most this much of a response body is read (then the stream is cancelled); none of it is kept. */
export const RESPONSE_READ_CAP_BYTES = 4096;

async function drainCapped(body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (!body) return;
  const reader = body.getReader();
  let read = 0;
  try {
    while (read < RESPONSE_READ_CAP_BYTES) {
      const chunk = await reader.read();
      if (chunk.done) return;
      read += chunk.value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** A transport failure in words that name no host, path or credential (URLs are secrets here). */
function describeFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: string; name?: string } };
  if (e?.name === "TimeoutError" || e?.cause?.name === "TimeoutError") return `timed out after ${timeoutMs} ms`;
  const code = e?.cause?.code;
  return typeof code === "string" && /^[A-Z_]+$/.test(code) ? `connection failed (${code})` : "connection failed";
}

/**
 * POSTs a JSON body once, bounded: the whole exchange (connect, send, response head and the
 * capped body read) within `timeoutMs`, redirects not followed (a 3xx is the answer), at most
 * RESPONSE_READ_CAP_BYTES of the response read.
 */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<PostOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const res = await fetch(url, {
      method: "POST",
      body,
      headers,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    await drainCapped(res.body);
    const ok = res.status >= 200 && res.status < 300;
    return { statusCode: res.status, error: ok ? null : `HTTP ${res.status}`, durationMs: elapsed() };
  } catch (err) {
    return { statusCode: null, error: describeFailure(err, timeoutMs), durationMs: elapsed() };
  }
}
