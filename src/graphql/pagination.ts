import { badInput } from "../errors.js";
import { isCleanText, isInt64Digits, isUuid } from "../validation.js";

export const MAX_PAGE_SIZE = 500;

export interface Page {
  first: number;
  after?: string;
}

export interface Connection<T> {
  edges: { node: T; cursor: string }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export function encodeCursor(parts: (string | number | bigint)[]): string {
  return Buffer.from(JSON.stringify(parts.map(String))).toString("base64url");
}

/**
 * Decodes a cursor made by encodeCursor with `arity` parts; BAD_USER_INPUT otherwise, also when
 * `valid` rejects the parts (a forged part would otherwise reach SQL as a bad uuid or bigint).
 */
export function decodeCursor(cursor: string, arity: number, valid: (parts: string[]) => boolean = () => true): string[] {
  try {
    const parts = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(parts) && parts.length === arity && parts.every((p) => typeof p === "string" && isCleanText(p)) && valid(parts)) {
      return parts as string[];
    }
  } catch {
    // fall through
  }
  throw badInput("after", "after is not a cursor returned by this API");
}

export function pageArgs(first: number | null | undefined, after: string | null | undefined): Page {
  const size = first ?? 50;
  if (!Number.isInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
    throw badInput("first", `first must be between 0 and ${MAX_PAGE_SIZE}`);
  }
  return { first: size, after: after ?? undefined };
}

/** Builds a connection from `first + 1` fetched rows. */
export function toConnection<T>(rows: T[], first: number, cursorOf: (row: T) => string): Connection<T> {
  const nodes = rows.slice(0, first);
  const edges = nodes.map((node) => ({ node, cursor: cursorOf(node) }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null },
  };
}


/** A (name, id) keyset cursor. */
export function decodeNameIdCursor(cursor: string): [string, string] {
  return decodeCursor(cursor, 2, ([, id]) => isUuid(id!)) as [string, string];
}

/** A (number, id) keyset cursor, e.g. epoch microseconds and a uuid. */
export function decodeNumberIdCursor(cursor: string): [string, string] {
  return decodeCursor(cursor, 2, ([n, id]) => isInt64Digits(n!) && isUuid(id!)) as [string, string];
}
