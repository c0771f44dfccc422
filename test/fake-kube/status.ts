import type { ServerResponse } from "node:http";

const REASONS: Record<number, string> = {
  400: "BadRequest",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "AlreadyExists",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

export class StatusError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details?: { name?: string; kind?: string; group?: string },
  ) {
    super(message);
  }
}

export function notFound(resource: string, name: string): StatusError {
  return new StatusError(404, `${resource} "${name}" not found`, { name, kind: resource });
}

/** A Kubernetes `Status` object, the body every API error carries. */
export function statusBody(code: number, message: string, details?: object): object {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason: REASONS[code] ?? "Unknown",
    ...(details ? { details } : {}),
    code,
  };
}

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendStatus(res: ServerResponse, err: StatusError): void {
  sendJson(res, err.code, statusBody(err.code, err.message, err.details));
}
