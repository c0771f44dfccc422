export type ErrorCode =
  | "BAD_USER_INPUT"
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "PRECONDITION_FAILED"
  | "UNPROCESSABLE_ENTITY"
  | "PAYLOAD_TOO_LARGE"
  | "TOO_MANY_REQUESTS"
  | "INTERNAL_SERVER_ERROR"
  | "SERVICE_UNAVAILABLE";

/**
 * The one error class domain code throws; formatted for GraphQL and REST in one place.
 * `reason` is the specific refusal (`agent_not_found`, `target_generator_mismatch`, …) that
 * Brokkr's REST API names in its error codes (src/rest/errors.ts).
 */
export class BrokkrError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly reason?: string,
    /** Extra machine-readable facts of the refusal (extensions in GraphQL, details in REST). */
    readonly extra?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = "BrokkrError";
  }
}

export const badInput = (field: string, message: string) => new BrokkrError("BAD_USER_INPUT", message, field);
export const notFound = (what: string) =>
  new BrokkrError("NOT_FOUND", `${what} not found`, undefined, `${what.replaceAll(" ", "_")}_not_found`);
export const forbidden = (message = "not allowed for this identity", reason?: string) =>
  new BrokkrError("FORBIDDEN", message, undefined, reason);
export const unauthenticated = (message = "a valid PAK is required") => new BrokkrError("UNAUTHENTICATED", message);
export const conflict = (message: string) => new BrokkrError("CONFLICT", message);
/** A gate refused the request (release orchestration): `gate` names which. */
export const preconditionFailed = (gate: string, message: string) =>
  new BrokkrError("PRECONDITION_FAILED", message, undefined, undefined, { gate });

export const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  // Refused by the state of other objects (a promotion gate), not by a duplicate: the request
  // conflicts with the current state of the resources it depends on, and may succeed later.
  PRECONDITION_FAILED: 409,
  // Well-formed input that does not fit the object it names (a template's labels vs a stack's).
  UNPROCESSABLE_ENTITY: 422,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_REQUESTS: 429,
  INTERNAL_SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
};

/** Seconds a client should wait before retrying a SERVICE_UNAVAILABLE answer (Retry-After). */
export const RETRY_AFTER_SECONDS = 2;

/**
 * Maps database errors to coded errors: unique violations (Prisma P2002 or SQLSTATE 23505)
 * become CONFLICT, foreign-key violations NOT_FOUND, check violations BAD_USER_INPUT; a
 * database that cannot be reached, is out of connections or timed out is SERVICE_UNAVAILABLE
 * (the server's fault, retryable; the message names no host, port or SQL).
 * Anything else is returned unchanged (and later shown as an internal error).
 */
export function fromDatabaseError(err: unknown, conflictMessage = "already exists"): unknown {
  if (err instanceof BrokkrError) return err;
  const code = sqlState(err);
  if (code === "23505") return new BrokkrError("CONFLICT", conflictMessage, undefined, "unique_violation");
  if (code === "23503") return notFound("referenced object");
  if (code === "23514" || code === "22001") return new BrokkrError("BAD_USER_INPUT", "value out of range");
  const fault = classifyFault(err);
  if (fault === "TIMEOUT") return new BrokkrError("SERVICE_UNAVAILABLE", "the database did not answer in time; retry shortly");
  if (fault) return new BrokkrError("SERVICE_UNAVAILABLE", "the database is unavailable; retry shortly");
  return err;
}

export function sqlState(err: unknown): string | undefined {
  const e = err as {
    code?: string;
    meta?: { driverAdapterError?: { cause?: { originalCode?: string; kind?: string } } };
    cause?: { originalCode?: string };
  };
  if (e?.code === "P2002") return "23505";
  if (e?.code === "P2003") return "23503";
  const original = e?.meta?.driverAdapterError?.cause?.originalCode ?? e?.cause?.originalCode;
  if (original) return original;
  if (typeof e?.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  return undefined;
}

export type Fault = "TOO_MANY_CONNECTIONS" | "TIMEOUT" | "UNAVAILABLE";

/** Connection exceptions, insufficient resources, shutdown, cancel (statement_timeout), lock timeout, retryable conflicts. */
const TRANSIENT_SQLSTATE = /^(08...|53...|57P0[1-5]|57014|55P03|40001|40P01)$/;
const TIMEOUT_SQLSTATE = new Set(["57014", "55P03"]);
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ECONNABORTED",
]);
// Prisma: can't reach, timed out, operation timed out, connection closed, pool timeout,
// transaction API (could not start in time / closed), write conflict, too many connections.
const PRISMA_CODES: Record<string, Fault> = {
  P1001: "UNAVAILABLE",
  P1002: "TIMEOUT",
  P1008: "TIMEOUT",
  P1017: "UNAVAILABLE",
  P2024: "TIMEOUT",
  P2028: "UNAVAILABLE",
  P2034: "UNAVAILABLE",
  P2037: "TOO_MANY_CONNECTIONS",
};
const ADAPTER_KINDS: Record<string, Fault> = {
  DatabaseNotReachable: "UNAVAILABLE",
  ConnectionClosed: "UNAVAILABLE",
  SocketTimeout: "TIMEOUT",
  TooManyConnections: "TOO_MANY_CONNECTIONS",
  TransactionAlreadyClosed: "UNAVAILABLE",
  TransactionWriteConflict: "UNAVAILABLE",
};
// pg and pg-pool raise these without a code.
const DRIVER_MESSAGES: [RegExp, Fault][] = [
  [/timeout exceeded when trying to connect|Query read timeout|connection timeout/i, "TIMEOUT"],
  [/Connection terminated|not queryable|Cannot use a pool after calling end|server closed the connection/i, "UNAVAILABLE"],
];

/**
 * Whether an error means the database (not the request) failed: unreachable, out of
 * connections, or too slow. Looks through Prisma's and the driver's wrappers.
 */
export function classifyFault(err: unknown, depth = 0): Fault | undefined {
  if (!err || typeof err !== "object" || depth > 6) return undefined;
  const e = err as {
    code?: unknown;
    kind?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
    originalError?: unknown;
    originalCode?: unknown;
    meta?: { driverAdapterError?: unknown };
  };
  const sqlstate = typeof e.originalCode === "string" ? e.originalCode : typeof e.code === "string" ? e.code : undefined;
  if (sqlstate === "53300") return "TOO_MANY_CONNECTIONS";
  if (sqlstate && TRANSIENT_SQLSTATE.test(sqlstate)) return TIMEOUT_SQLSTATE.has(sqlstate) ? "TIMEOUT" : "UNAVAILABLE";
  if (typeof e.code === "string" && SOCKET_CODES.has(e.code)) return e.code === "ETIMEDOUT" ? "TIMEOUT" : "UNAVAILABLE";
  if (typeof e.code === "string" && PRISMA_CODES[e.code]) return PRISMA_CODES[e.code];
  if (typeof e.kind === "string" && ADAPTER_KINDS[e.kind]) return ADAPTER_KINDS[e.kind];
  const nested = [e.meta?.driverAdapterError, e.cause, e.originalError, ...(Array.isArray(e.errors) ? e.errors : [])];
  for (const inner of nested) {
    const fault = classifyFault(inner, depth + 1);
    if (fault) return fault;
  }
  if (typeof e.message === "string") for (const [pattern, fault] of DRIVER_MESSAGES) if (pattern.test(e.message)) return fault;
  return undefined;
}
