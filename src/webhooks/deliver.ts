import type { Db } from "../db/client.js";
import { moduleLogger } from "../logger.js";
import { DecryptError, signatureHeaders, type Cipher } from "./crypto.js";
import { recordAttempts, type AttemptRecord, type ClaimedDelivery } from "./delivery-store.js";
import { postJson, type PostOutcome } from "./http-post.js";
import { isSuccess, nextAfter } from "./retry-policy.js";

const log = moduleLogger("webhooks");

/** The plain-text parts of a claimed delivery's subscription, decrypted for one attempt. */
export interface Opened {
  url: string;
  authHeader: string | null;
  secret: string;
}

export function openClaim(cipher: Cipher, row: ClaimedDelivery): Opened {
  const id = row.subscription_id;
  return {
    url: cipher.decrypt(row.url_encrypted, `${id}:url`),
    authHeader: row.auth_header_encrypted ? cipher.decrypt(row.auth_header_encrypted, `${id}:auth_header`) : null,
    secret: cipher.decrypt(row.secret_encrypted, `${id}:secret`),
  };
}

/** Every header of one POST except Authorization: the event's ids and the body's signature. */
export function deliveryHeaders(row: ClaimedDelivery, secret: string, nowMs = Date.now()): Record<string, string> {
  return {
    "Content-Type": "application/json",
    "User-Agent": "brokkr-ts-webhooks/1",
    "X-Brokkr-Event-Id": row.event_id,
    "X-Brokkr-Event-Type": row.event_type,
    "X-Brokkr-Delivery-Id": row.id,
    "X-Brokkr-Attempt": String(row.attempts),
    ...signatureHeaders(secret, row.payload, Math.floor(nowMs / 1000)),
  };
}

export interface AttemptResult extends PostOutcome {
  deliveryId: string;
  success: boolean;
  status: "success" | "failed" | "dead";
}

/**
 * Makes the claimed attempt (recorded by the caller, a batch at a time: recordAttempts). A
 * subscription whose secrets do not decrypt (wrong key) is never delivered to, least of all
 * without its auth header: the delivery goes dead.
 */
export async function performAttempt(cipher: Cipher, row: ClaimedDelivery, retryBaseMs: number): Promise<AttemptRecord> {
  let outcome: PostOutcome;
  let retryable = true;
  try {
    const opened = openClaim(cipher, row);
    const headers = deliveryHeaders(row, opened.secret);
    if (opened.authHeader) headers.Authorization = opened.authHeader;
    outcome = await postJson(opened.url, row.payload, headers, row.timeout_seconds * 1000);
  } catch (err) {
    if (!(err instanceof DecryptError)) throw err;
    log.error({ subscriptionId: row.subscription_id, deliveryId: row.id, reason: err.message }, "webhook not delivered");
    outcome = { statusCode: null, error: err.message, durationMs: 0 };
    retryable = false;
  }
  const success = isSuccess(outcome.statusCode);
  return {
    deliveryId: row.id,
    attempt: row.attempts,
    success,
    statusCode: outcome.statusCode,
    error: outcome.error,
    durationMs: outcome.durationMs,
    next: retryable
      ? nextAfter(success, outcome.statusCode, row.attempts, row.max_retries, retryBaseMs)
      : { status: "dead", dueAt: new Date() },
  };
}

/** One attempt made and recorded now (the test event). */
export async function attemptDelivery(db: Db, cipher: Cipher, row: ClaimedDelivery, retryBaseMs: number): Promise<AttemptResult> {
  const record = await performAttempt(cipher, row, retryBaseMs);
  await recordAttempts(db, null, [record]);
  const { deliveryId, success, statusCode, error, durationMs } = record;
  return { deliveryId, success, statusCode, error, durationMs: durationMs ?? 0, status: record.next.status };
}
