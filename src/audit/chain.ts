import { createHash } from "node:crypto";

/** The hash the first row of an empty log chains from. */
export const GENESIS_HASH = "0".repeat(64);

/** One audit row as it is stored and hashed (every column but `hash` itself). */
export interface ChainedRow {
  seq: bigint;
  id: string;
  timestamp: Date;
  createdAt: Date;
  actorType: string;
  actorId: string | null;
  actorName: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  details: unknown;
  ipAddress: string | null;
  userAgent: string | null;
  prevHash: string;
}

/**
 * JSON with object keys in sorted order at every depth. The writer hashes what it sends, the
 * verifier what JSONB gives back (which reorders keys), so only a key-order-free form agrees.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sorted(value));
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== "object") return value ?? null;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sorted((value as Record<string, unknown>)[key]);
  return out;
}

/**
 * sha256(prev_hash || canonical content), hex. Timestamps are whole milliseconds (the writer
 * makes them in JavaScript), so they come back from timestamptz unchanged.
 */
export function rowHash(row: ChainedRow): string {
  const content = canonicalJson([
    row.seq.toString(),
    row.id,
    row.timestamp.toISOString(),
    row.createdAt.toISOString(),
    row.actorType,
    row.actorId,
    row.actorName,
    row.action,
    row.resourceType,
    row.resourceId,
    row.details ?? null,
    row.ipAddress,
    row.userAgent,
  ]);
  return createHash("sha256").update(row.prevHash).update(content).digest("hex");
}

export type ChainBreakReason = "BASE_MISMATCH" | "SEQUENCE_GAP" | "PREV_HASH_MISMATCH" | "HASH_MISMATCH" | "HEAD_MISMATCH";

export interface ChainBreak {
  /** The row where the chain breaks (for HEAD_MISMATCH, the head the chain row names). */
  seq: bigint;
  id: string | null;
  reason: ChainBreakReason;
}

/** Walks rows in seq order from the base; state carries across pages. */
export class ChainVerifier {
  checked = 0;
  private expectedSeq: bigint;
  private expectedPrev: string;
  private lastSeq: bigint | null = null;
  broken: ChainBreak | null = null;

  constructor(base: { seq: bigint; prevHash: string }) {
    this.expectedSeq = base.seq;
    this.expectedPrev = base.prevHash;
  }

  /** Checks one row; false once the chain is broken (stop reading). */
  next(row: ChainedRow & { hash: string }): boolean {
    if (this.broken) return false;
    const first = this.lastSeq === null;
    if (row.seq !== this.expectedSeq) {
      // Rows missing before the first kept row: the base no longer matches.
      this.broken = { seq: this.expectedSeq, id: row.id, reason: first ? "BASE_MISMATCH" : "SEQUENCE_GAP" };
    } else if (row.prevHash !== this.expectedPrev) {
      this.broken = { seq: row.seq, id: row.id, reason: first ? "BASE_MISMATCH" : "PREV_HASH_MISMATCH" };
    } else if (rowHash(row) !== row.hash) {
      this.broken = { seq: row.seq, id: row.id, reason: "HASH_MISMATCH" };
    }
    if (this.broken) return false;
    this.checked++;
    this.lastSeq = row.seq;
    this.expectedSeq = row.seq + 1n;
    this.expectedPrev = row.hash;
    return true;
  }

  /** After the last row: the chain must end where the chain row says its head is. */
  finish(head: { seq: bigint; hash: string }): ChainBreak | null {
    if (this.broken) return this.broken;
    if (this.expectedSeq - 1n !== head.seq || this.expectedPrev !== head.hash)
      this.broken = { seq: head.seq, id: null, reason: "HEAD_MISMATCH" };
    return this.broken;
  }
}
