import type { Identity } from "../auth/identity.js";
import { requireAdmin } from "../auth/policy.js";
import type { Db } from "../db/client.js";
import { badInput } from "../errors.js";
import { type Connection, decodeCursor, encodeCursor, type Page, toConnection } from "../graphql/pagination.js";
import { isInt64Digits, requireId, requireText } from "../validation.js";
import { type ChainBreak, ChainVerifier } from "./chain.js";
import { countRows, type ListedRow, type LogFilter, listRows, readChain, rowsAfter, type Sql } from "./store.js";

export interface AuditFilterInput {
  actorType?: string | null;
  actorId?: string | null;
  action?: string | null;
  resourceType?: string | null;
  resourceId?: string | null;
  from?: Date | null;
  to?: Date | null;
}

/** `total` of the REST list counts at most this many rows (counting more would scan them all). */
export const MAX_COUNTED = 100_000;
/**
 * REST's offset beyond this finds nothing: a deep offset reads and discards every row before it
 * (page by time with from/to instead; GraphQL's keyset cursor has no such limit).
 */
export const MAX_OFFSET = 100_000;
const VERIFY_PAGE = 1000;
export const MAX_VERIFY_ROWS = 1_000_000;

const text = (field: string, value: string | null | undefined, max: number) =>
  value === null || value === undefined ? undefined : requireText(field, value, max);
const id = (field: string, value: string | null | undefined) =>
  value === null || value === undefined ? undefined : requireId(field, value);

/** Checks a filter (the same for GraphQL and REST; `prefix` names the fields as the caller sent them). */
export function checkFilter(f: AuditFilterInput, name: (field: string) => string): LogFilter {
  const action = text(name("action"), f.action, 128);
  if (action?.slice(0, -1).includes("*")) throw badInput(name("action"), "action may end with * (a prefix), nowhere else");
  return {
    actorType: text(name("actorType"), f.actorType, 64),
    actorId: id(name("actorId"), f.actorId),
    action,
    resourceType: text(name("resourceType"), f.resourceType, 64),
    resourceId: id(name("resourceId"), f.resourceId),
    from: f.from ?? undefined,
    to: f.to ?? undefined,
  };
}

/** GraphQL's auditLogs: newest first, keyset-paged by sequence. */
export async function auditLogPage(
  db: Db,
  identity: Identity | null,
  filter: LogFilter,
  page: Page,
): Promise<Connection<ListedRow>> {
  requireAdmin(identity);
  const beforeSeq = page.after ? BigInt(decodeCursor(page.after, 1, ([s]) => isInt64Digits(s ?? ""))[0] as string) : undefined;
  const rows = await listRows(db, { ...filter, beforeSeq }, page.first + 1);
  return toConnection(rows, page.first, (r) => encodeCursor([r.seq]));
}

/** REST's list_audit_logs: newest first, limit and offset, with the (capped) total. */
export async function auditLogList(db: Db, identity: Identity | null, filter: LogFilter, limit: number, offset: number) {
  requireAdmin(identity);
  const [rows, total] = await Promise.all([
    offset > MAX_OFFSET ? [] : listRows(db, filter, limit, offset),
    countRows(db, filter, MAX_COUNTED),
  ]);
  return { rows, total };
}

export interface Verification {
  ok: boolean;
  complete: boolean;
  checked: number;
  baseSequence: bigint;
  basePrevHash: string;
  headSequence: bigint;
  headHash: string;
  brokenAt: ChainBreak | null;
}

/**
 * Recomputes the chain from its base (the oldest row retention kept, and the hash it chains
 * from) to its head, reporting the first broken link. Run it in one snapshot (REPEATABLE READ):
 * batches committed meanwhile would otherwise move the head under it.
 */
export async function verifyChain(sql: Sql, maxRows = Number.POSITIVE_INFINITY): Promise<Verification> {
  const chain = await readChain(sql, false);
  const verifier = new ChainVerifier({ seq: chain.baseSeq, prevHash: chain.basePrevHash });
  let after = chain.baseSeq - 1n;
  let complete = true;
  for (;;) {
    const room = Math.min(VERIFY_PAGE, maxRows - verifier.checked);
    if (room <= 0) {
      complete = (await rowsAfter(sql, after, 1)).length === 0;
      break;
    }
    const rows = await rowsAfter(sql, after, room);
    if (!rows.every((row) => verifier.next(row)) || rows.length < room) break;
    after = (rows.at(-1) as { seq: bigint }).seq;
  }
  const brokenAt = complete ? verifier.finish({ seq: chain.headSeq, hash: chain.headHash }) : verifier.broken;
  return {
    ok: brokenAt === null,
    complete: complete || brokenAt !== null,
    checked: verifier.checked,
    baseSequence: chain.baseSeq,
    basePrevHash: chain.basePrevHash,
    headSequence: chain.headSeq,
    headHash: chain.headHash,
    brokenAt,
  };
}

export function verifyRowsLimit(maxRows: number | null | undefined): number {
  const n = maxRows ?? 100_000;
  if (!Number.isInteger(n) || n < 1 || n > MAX_VERIFY_ROWS)
    throw badInput("maxRows", `maxRows must be between 1 and ${MAX_VERIFY_ROWS}`);
  return n;
}
