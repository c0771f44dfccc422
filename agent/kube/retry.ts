import { z } from "zod";

const TRANSIENT_CODES = new Set([429, 500, 503, 504]);

export interface RetryOptions {
  attempts: number;
  baseMs: number;
  maxMs: number;
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 6, baseMs: 200, maxMs: 5_000 };

/** The HTTP status of a Kubernetes API error (KubeApiError, or any error with a numeric `code`). */
export function statusCodeOf(err: unknown): number | undefined {
  const code = typeof err === "object" && err !== null && "code" in err ? err.code : undefined;
  return typeof code === "number" ? code : undefined;
}

export function isTransient(err: unknown): boolean {
  const code = statusCodeOf(err);
  return code !== undefined && TRANSIENT_CODES.has(code);
}

export function isNotFound(err: unknown): boolean {
  return statusCodeOf(err) === 404;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Retries a Kubernetes call on 429/500/503/504 with exponential backoff; other errors pass through. */
export async function withTransientRetry<T>(fn: () => Promise<T>, options: RetryOptions = DEFAULT_RETRY): Promise<T> {
  const sleep = options.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || attempt >= options.attempts) throw err;
      await sleep(Math.min(options.maxMs, options.baseMs * 2 ** (attempt - 1)));
    }
  }
}

/** A short message for an event report: the API's Status message rather than the client's dump. */
export function describeKubeError(err: unknown): string {
  const code = statusCodeOf(err);
  if (code !== undefined && typeof err === "object" && err !== null && "body" in err) {
    const body = parseStatus(err.body);
    const detail = body?.message ?? "no message";
    return `Kubernetes API ${code}${body?.reason ? ` ${body.reason}` : ""}: ${detail}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** The fields of a Kubernetes Status body an event report shows; others, or other types, are ignored. */
const Status = z
  .object({ message: z.string().optional().catch(undefined), reason: z.string().optional().catch(undefined) })
  .catch({});

function parseStatus(body: unknown): z.infer<typeof Status> | undefined {
  if (typeof body === "object" && body !== null) return Status.parse(body);
  if (typeof body !== "string") return undefined;
  try {
    return Status.parse(JSON.parse(body));
  } catch {
    return { message: body.slice(0, 500) };
  }
}
