import type { Response } from "express";
import { BrokkrError, HTTP_STATUS, RETRY_AFTER_SECONDS, fromDatabaseError, type ErrorCode } from "../errors.js";
import { describeFault } from "../faults.js";
import { moduleLogger } from "../logger.js";

const log = moduleLogger("rest");

/**
 * Brokkr's error body `{code, message, details?}`. `code` is the specific refusal Brokkr's API
 * names (reference §1.3, §4) when the service gave one (`agent_not_found`,
 * `target_generator_mismatch`, `agent_not_registered`, `unique_violation`, …), else ours.
 * Bad input names its field in `details.field` (and, as before, in `field`).
 */
export interface RestErrorBody {
  code: string;
  message: string;
  field?: string;
  details?: Record<string, unknown>;
}

/** Our codes where no specific reason applies; the one mapping of BrokkrError to REST codes. */
const REST_CODE: Record<ErrorCode, string> = {
  BAD_USER_INPUT: "BAD_USER_INPUT",
  UNAUTHENTICATED: "UNAUTHENTICATED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  PRECONDITION_FAILED: "PRECONDITION_FAILED",
  UNPROCESSABLE_ENTITY: "UNPROCESSABLE_ENTITY",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  INTERNAL_SERVER_ERROR: "internal_error",
  SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  TOO_MANY_REQUESTS: "TOO_MANY_REQUESTS",
};

// Service fields are GraphQL's camelCase; REST callers sent snake_case.
const snake = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

// Brokkr's code for content that is not a valid manifest.
const invalidObject = (e: BrokkrError) => e.code === "BAD_USER_INPUT" && e.field === "yamlContent";

export function restErrorBody(e: BrokkrError): RestErrorBody {
  const field = e.field ? snake(e.field) : undefined;
  const code = e.reason ?? (invalidObject(e) ? "invalid_deployment_object" : REST_CODE[e.code]);
  const details = field || e.extra ? { ...(field ? { field } : {}), ...e.extra } : undefined;
  return { code, message: e.message, ...(field ? { field } : {}), ...(details ? { details } : {}) };
}

export function sendRestError(res: Response, err: unknown): void {
  const e = fromDatabaseError(err);
  if (!(e instanceof BrokkrError)) {
    log.error({ err: e }, "unexpected error in a REST request");
    if (res.headersSent) return void res.end();
    res.status(500).json({ code: "internal_error", message: "Internal server error" });
    return;
  }
  if (e.code === "SERVICE_UNAVAILABLE" && !(err instanceof BrokkrError))
    log.warn({ reason: describeFault(err) }, "database unavailable for a REST request");
  // A long-poll may fail after its head went out: end it, there is no status to send.
  if (res.headersSent) return void res.end();
  if (e.code === "SERVICE_UNAVAILABLE") res.setHeader("Retry-After", String(RETRY_AFTER_SECONDS));
  res.status(HTTP_STATUS[e.code]).json(restErrorBody(e));
}

/** A refusal of the REST layer itself, with Brokkr's code. */
export const restRefusal = (code: ErrorCode, reason: string, message: string, field?: string) =>
  new BrokkrError(code, message, field, reason);
