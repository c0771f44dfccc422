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

/** The parts of a cursor made by encodeCursor, or null when it is not one. */
function cursorParts(cursor: string): string[] | null {
  try {
    const parts: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    return Array.isArray(parts) && parts.every((p) => typeof p === "string") && parts.every(isCleanText) ? parts : null;
  } catch {
    return null;
  }
}

const notACursor = () => badInput("after", "after is not a cursor returned by this API");

/**
 * Decodes a cursor made by encodeCursor with `arity` parts; BAD_USER_INPUT otherwise, also when
 * `valid` rejects the parts (a forged part would otherwise reach SQL as a bad uuid or bigint).
 */
export function decodeCursor(cursor: string, arity: number, valid: (parts: string[]) => boolean = () => true): string[] {
  const parts = cursorParts(cursor);
  if (parts && parts.length === arity && valid(parts)) return parts;
  throw notACursor();
}

/** decodeCursor for two parts, typed as a pair. */
function decodePair(cursor: string, valid: (first: string, second: string) => boolean): [string, string] {
  const [first, second, ...more] = cursorParts(cursor) ?? [];
  if (first !== undefined && second !== undefined && more.length === 0 && valid(first, second)) return [first, second];
  throw notACursor();
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
  return decodePair(cursor, (_, id) => isUuid(id));
}

/** A (number, id) keyset cursor, e.g. epoch microseconds and a uuid. */
export function decodeNumberIdCursor(cursor: string): [string, string] {
  return decodePair(cursor, (n, id) => isInt64Digits(n) && isUuid(id));
}
