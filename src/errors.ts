export type ErrorCode =
  | "BAD_USER_INPUT"
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "PAYLOAD_TOO_LARGE"
  | "INTERNAL_SERVER_ERROR";

/** The one error class domain code throws; formatted for GraphQL and REST in one place. */
export class BrokkrError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "BrokkrError";
  }
}

export const badInput = (field: string, message: string) => new BrokkrError("BAD_USER_INPUT", message, field);
export const notFound = (what: string) => new BrokkrError("NOT_FOUND", `${what} not found`);
export const forbidden = (message = "not allowed for this identity") => new BrokkrError("FORBIDDEN", message);
export const unauthenticated = (message = "a valid PAK is required") => new BrokkrError("UNAUTHENTICATED", message);
export const conflict = (message: string) => new BrokkrError("CONFLICT", message);

export const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL_SERVER_ERROR: 500,
};

/**
 * Maps database errors to coded errors: unique violations (Prisma P2002 or SQLSTATE 23505)
 * become CONFLICT, foreign-key violations NOT_FOUND, check violations BAD_USER_INPUT.
 * Anything else is returned unchanged (and later shown as an internal error).
 */
export function fromDatabaseError(err: unknown, conflictMessage = "already exists"): unknown {
  if (err instanceof BrokkrError) return err;
  const code = sqlState(err);
  if (code === "23505") return conflict(conflictMessage);
  if (code === "23503") return notFound("referenced object");
  if (code === "23514" || code === "22001") return new BrokkrError("BAD_USER_INPUT", "value out of range");
  return err;
}

function sqlState(err: unknown): string | undefined {
  const e = err as { code?: string; meta?: { driverAdapterError?: { cause?: { originalCode?: string; kind?: string } } }; cause?: { originalCode?: string } };
  if (e?.code === "P2002") return "23505";
  if (e?.code === "P2003") return "23503";
  const original = e?.meta?.driverAdapterError?.cause?.originalCode ?? e?.cause?.originalCode;
  if (original) return original;
  if (typeof e?.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  return undefined;
}
