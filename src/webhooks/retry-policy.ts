/** Statuses worth retrying besides 5xx: timeout, too early, too many requests (as Brokkr, T-0288). */
const RETRYABLE_4XX = new Set([408, 425, 429]);
const MAX_DELAY_MS = 3_600_000;

export interface Next {
  status: "success" | "failed" | "dead";
  dueAt: Date;
}

export function isSuccess(statusCode: number | null): boolean {
  return statusCode !== null && statusCode >= 200 && statusCode < 300;
}

/** No answer, a 5xx, or 408/425/429: retried. A 3xx (redirects are not followed) or another 4xx: not. */
export function isRetryable(statusCode: number | null): boolean {
  return statusCode === null || statusCode >= 500 || RETRYABLE_4XX.has(statusCode);
}

/**
 * Exponential backoff with jitter: attempt n waits base·2^(n-1) (Brokkr's 2^n s for a 2 s
 * base), capped at an hour, of which a random half is taken off so that receivers recovering
 * from an outage are not hit by every delivery in the same second.
 */
export function retryDelayMs(attempts: number, baseMs: number, random: () => number = Math.random): number {
  const full = Math.min(MAX_DELAY_MS, baseMs * 2 ** Math.max(0, attempts - 1));
  return full / 2 + (random() * full) / 2;
}

/** Where a delivery goes after attempt number `attempts` of at most `maxRetries`. */
export function nextAfter(
  success: boolean,
  statusCode: number | null,
  attempts: number,
  maxRetries: number,
  baseMs: number,
  now = new Date(),
): Next {
  if (success) return { status: "success", dueAt: now };
  if (!isRetryable(statusCode) || attempts >= maxRetries) return { status: "dead", dueAt: now };
  return { status: "failed", dueAt: new Date(now.getTime() + retryDelayMs(attempts, baseMs)) };
}
