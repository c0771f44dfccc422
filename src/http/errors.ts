import type { ErrorRequestHandler, Response } from "express";
import { BrokkrError, HTTP_STATUS, RETRY_AFTER_SECONDS, fromDatabaseError } from "../errors.js";
import { describeFault } from "../faults.js";
import { moduleLogger } from "../logger.js";

const log = moduleLogger("http");

/**
 * REST errors: the matching HTTP status with `{ code, message }` (and `field` for bad input);
 * a database fault is 503 SERVICE_UNAVAILABLE with Retry-After and a plain message.
 */
export function sendError(res: Response, err: unknown): void {
  const e = fromDatabaseError(err);
  if (e instanceof BrokkrError) {
    if (e.code === "SERVICE_UNAVAILABLE" && !(err instanceof BrokkrError)) {
      log.warn({ reason: describeFault(err) }, "database unavailable for an HTTP request");
    }
    // A long-poll or stream may fail after its head went out: end it, there is no status to send.
    if (res.headersSent) return void res.end();
    if (e.code === "SERVICE_UNAVAILABLE") res.setHeader("Retry-After", String(RETRY_AFTER_SECONDS));
    res.status(HTTP_STATUS[e.code]).json({ code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) });
    return;
  }
  log.error({ err: e }, "unexpected error in an HTTP request");
  if (res.headersSent) return void res.end();
  res.status(500).json({ code: "INTERNAL_SERVER_ERROR", message: "Internal server error" });
}

/** Body-parser failures (too large, malformed JSON) and anything thrown past a handler. */
export const httpErrorHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  const type = (err as { type?: string }).type;
  if (type === "entity.too.large") {
    res.status(413).json({ code: "PAYLOAD_TOO_LARGE", message: "request body exceeds the configured limit" });
    return;
  }
  if (type === "entity.parse.failed") {
    res.status(400).json({ code: "BAD_USER_INPUT", message: "request body is not valid JSON" });
    return;
  }
  // Every other body-parser refusal (unsupported Content-Encoding or charset, a corrupt gzip
  // stream, an aborted body) is the client's: its 4xx status and a coded body, nothing logged.
  const { status, code } = err as { status?: unknown; code?: unknown };
  // The router decodes path parameters: a malformed %-escape (`/agents/%E0%A4%A/...`) is the client's.
  if (err instanceof URIError) {
    res.status(400).json({ code: "BAD_USER_INPUT", message: "the request path is not validly percent-encoded" });
    return;
  }
  if (typeof code === "string" && code.startsWith("Z_")) {
    res.status(400).json({ code: "BAD_USER_INPUT", message: "the request body is not validly compressed" });
    return;
  }
  if (typeof type === "string" && typeof status === "number" && status >= 400 && status < 500) {
    const message = status === 415 ? "unsupported Content-Encoding or charset" : "the request body could not be read";
    res.status(status).json({ code: "BAD_USER_INPUT", message });
    return;
  }
  sendError(res, err);
};
