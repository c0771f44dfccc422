import { Prisma } from "../generated/prisma/client.js";
import type { Db } from "../db/client.js";
import type { ChainedRow } from "./chain.js";

/**
 * A `pg` pool or client (the writer, the clean-up, the CLI: transactions with SET LOCAL and row
 * locks), or a Prisma transaction through `prismaSql` (verification from a GraphQL request).
 */
export interface Sql {
  // biome-ignore lint/suspicious/noExplicitAny: rows are typed by each store function
  query(text: string, params?: unknown[]): Promise<{ rows: any[]; rowCount?: number | null }>;
}

export function prismaSql(db: Db): Sql {
  return { query: async (text, params = []) => ({ rows: await db.$queryRawUnsafe(text, ...params) }) };
}

export interface ChainState {
  headSeq: bigint;
  headHash: string;
  baseSeq: bigint;
  basePrevHash: string;
}

export type StoredRow = ChainedRow & { hash: string };

interface RawChain {
  head_seq: string | bigint;
  head_hash: string;
  base_seq: string | bigint;
  base_prev_hash: string;
}

const chainOf = (r: RawChain): ChainState => ({
  headSeq: BigInt(r.head_seq),
  headHash: r.head_hash,
  baseSeq: BigInt(r.base_seq),
  basePrevHash: r.base_prev_hash,
});

/** The chain row; `lock` takes it FOR UPDATE, which serializes every writer of every broker. */
export async function readChain(sql: Sql, lock: boolean): Promise<ChainState> {
  const { rows } = await sql.query(
    `SELECT head_seq, head_hash, base_seq, base_prev_hash FROM audit_log_chain${lock ? " FOR UPDATE" : ""}`,
  );
  const row = rows[0] as RawChain | undefined;
  if (!row) throw new Error("audit_log_chain has no row (migration 0014 not applied?)");
  return chainOf(row);
}

export async function moveBase(sql: Sql, seq: bigint, prevHash: string): Promise<void> {
  await sql.query("UPDATE audit_log_chain SET base_seq = $1, base_prev_hash = $2", [seq.toString(), prevHash]);
}

const INSERT_COLUMNS = `seq, id, timestamp, created_at, actor_type, actor_id, actor_name, action, resource_type,
                        resource_id, details, ip_address, user_agent, prev_hash, hash`;
const UNNEST = `SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::uuid[],
                                $7::text[], $8::text[], $9::text[], $10::uuid[], $11::jsonb[], $12::text[], $13::text[],
                                $14::text[], $15::text[])`;

function columnsOf(rows: StoredRow[]): unknown[] {
  const col = <T>(pick: (r: StoredRow) => T) => rows.map(pick);
  return [
    col((r) => r.seq.toString()),
    col((r) => r.id),
    col((r) => r.timestamp),
    col((r) => r.createdAt),
    col((r) => r.actorType),
    col((r) => r.actorId),
    col((r) => r.actorName),
    col((r) => r.action),
    col((r) => r.resourceType),
    col((r) => r.resourceId),
    col((r) => (r.details === null || r.details === undefined ? null : JSON.stringify(r.details))),
    col((r) => r.ipAddress),
    col((r) => r.userAgent),
    col((r) => r.prevHash),
    col((r) => r.hash),
  ];
}

/** One statement for the whole batch: columns as arrays, unnested. (`table`: the bench's copy.) */
export async function insertRows(sql: Sql, rows: StoredRow[], table: "audit_logs" | "audit_bench" = "audit_logs"): Promise<void> {
  await sql.query(`INSERT INTO ${table} (${INSERT_COLUMNS}) ${UNNEST}`, columnsOf(rows));
}

/**
 * Opens the writer's transaction and locks the chain row, in one round trip (a simple-protocol
 * query of two statements): every broker's writer waits here for the one before it.
 */
export async function beginAndLockChain(sql: Sql): Promise<ChainState> {
  const results = (await sql.query(
    "BEGIN; SELECT head_seq, head_hash, base_seq, base_prev_hash FROM audit_log_chain FOR UPDATE",
  )) as unknown as { rows: RawChain[] }[];
  const row = results[1]?.rows[0];
  if (!row) throw new Error("audit_log_chain has no row (migration 0014 not applied?)");
  return chainOf(row);
}

/** Inserts the batch and moves the head to its last row, in one statement (a data-modifying WITH). */
export async function appendRows(sql: Sql, rows: StoredRow[]): Promise<void> {
  const last = rows.at(-1);
  if (!last) return;
  await sql.query(
    `WITH inserted AS (INSERT INTO audit_logs (${INSERT_COLUMNS}) ${UNNEST})
     UPDATE audit_log_chain SET head_seq = $16, head_hash = $17`,
    [...columnsOf(rows), last.seq.toString(), last.hash],
  );
}

/** Names of agents and generators (deleted ones too: the row records who acted then). */
export async function actorNames(sql: Sql, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await sql.query(
    `SELECT id, name FROM agents WHERE id = ANY($1::uuid[])
     UNION ALL SELECT id, name FROM generators WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map((rows as { id: string; name: string }[]).map((r) => [r.id, r.name]));
}

interface RawRow {
  seq: string | bigint;
  id: string;
  timestamp: Date;
  created_at: Date;
  actor_type: string;
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  resource_type: string;
  resource_id: string | null;
  details: unknown;
  ip_address: string | null;
  user_agent: string | null;
  prev_hash: string;
  hash: string;
}

const storedOf = (r: RawRow): StoredRow => ({
  seq: BigInt(r.seq),
  id: r.id,
  timestamp: r.timestamp,
  createdAt: r.created_at,
  actorType: r.actor_type,
  actorId: r.actor_id,
  actorName: r.actor_name,
  action: r.action,
  resourceType: r.resource_type,
  resourceId: r.resource_id,
  details: r.details,
  ipAddress: r.ip_address,
  userAgent: r.user_agent,
  prevHash: r.prev_hash,
  hash: r.hash,
});

const COLUMNS = `seq, id, timestamp, created_at, actor_type, actor_id, actor_name, action, resource_type, resource_id,
                 details, ip_address, user_agent, prev_hash, hash`;

/** Rows in chain order after `seq`, for verification. */
export async function rowsAfter(sql: Sql, seq: bigint, limit: number): Promise<StoredRow[]> {
  const { rows } = await sql.query(`SELECT ${COLUMNS} FROM audit_logs WHERE seq > $1 ORDER BY seq LIMIT $2`, [
    seq.toString(),
    limit,
  ]);
  return (rows as RawRow[]).map(storedOf);
}

/** now() minus `days`, by the database's clock (the trigger compares with that clock too). */
export async function retentionCutoff(sql: Sql, days: number): Promise<Date> {
  const { rows } = await sql.query("SELECT now() - make_interval(days => $1::int) AS cutoff", [days]);
  return (rows[0] as { cutoff: Date }).cutoff;
}

/** The oldest rows (seq and timestamp), for the clean-up to find where the old prefix ends. */
export async function oldestRows(sql: Sql, limit: number): Promise<{ seq: bigint; timestamp: Date; prevHash: string }[]> {
  const { rows } = await sql.query("SELECT seq, timestamp, prev_hash FROM audit_logs ORDER BY seq LIMIT $1", [limit]);
  return (rows as { seq: string; timestamp: Date; prev_hash: string }[]).map((r) => ({
    seq: BigInt(r.seq),
    timestamp: r.timestamp,
    prevHash: r.prev_hash,
  }));
}

/** Deletes the prefix below `seq`, inside the clean-up's transaction (the trigger checks the cutoff). */
export async function deletePrefix(sql: Sql, beforeSeq: bigint, cutoff: Date): Promise<number> {
  await sql.query(
    "SELECT set_config('brokkr.audit_retention', 'on', true), set_config('brokkr.audit_retention_cutoff', $1, true)",
    [cutoff.toISOString()],
  );
  const result = await sql.query("DELETE FROM audit_logs WHERE seq < $1", [beforeSeq.toString()]);
  return result.rowCount ?? 0;
}

export interface LogFilter {
  actorType?: string;
  actorId?: string;
  /** Exact, or a prefix when it ends with `*`. */
  action?: string;
  resourceType?: string;
  resourceId?: string;
  from?: Date;
  to?: Date;
  /** Keyset paging: rows older (in chain order) than this seq. */
  beforeSeq?: bigint;
}

export type ListedRow = StoredRow & { currentName: string | null };

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

function whereOf(f: LogFilter): Prisma.Sql {
  const parts: Prisma.Sql[] = [];
  if (f.actorType !== undefined) parts.push(Prisma.sql`l.actor_type = ${f.actorType}`);
  if (f.actorId !== undefined) parts.push(Prisma.sql`l.actor_id = ${f.actorId}::uuid`);
  if (f.action !== undefined)
    parts.push(
      f.action.endsWith("*")
        ? Prisma.sql`l.action LIKE ${`${escapeLike(f.action.slice(0, -1))}%`}`
        : Prisma.sql`l.action = ${f.action}`,
    );
  if (f.resourceType !== undefined) parts.push(Prisma.sql`l.resource_type = ${f.resourceType}`);
  if (f.resourceId !== undefined) parts.push(Prisma.sql`l.resource_id = ${f.resourceId}::uuid`);
  if (f.from !== undefined) parts.push(Prisma.sql`l.timestamp >= ${f.from}`);
  if (f.to !== undefined) parts.push(Prisma.sql`l.timestamp < ${f.to}`);
  if (f.beforeSeq !== undefined) parts.push(Prisma.sql`l.seq < ${f.beforeSeq}`);
  return parts.length > 0 ? Prisma.sql`WHERE ${Prisma.join(parts, " AND ")}` : Prisma.empty;
}

/**
 * Newest first (by seq). The actor's current name is read here, so a rename shows in history
 * (Brokkr's read-time names); the name recorded at the time stays in actor_name.
 */
export async function listRows(db: Db, filter: LogFilter, limit: number, offset = 0): Promise<ListedRow[]> {
  const rows = await db.$queryRaw<(RawRow & { current_name: string | null })[]>`
    SELECT l.*, coalesce(a.name, g.name) AS current_name
    FROM audit_logs l
    LEFT JOIN agents a ON l.actor_type = 'agent' AND a.id = l.actor_id
    LEFT JOIN generators g ON l.actor_type = 'generator' AND g.id = l.actor_id
    ${whereOf(filter)}
    ORDER BY l.seq DESC
    LIMIT ${limit} OFFSET ${offset}`;
  return rows.map((r) => ({ ...storedOf(r), currentName: r.current_name }));
}

/** Matching rows, counted up to `cap` (a count of millions would scan them all). */
export async function countRows(db: Db, filter: LogFilter, cap: number): Promise<number> {
  const rows = await db.$queryRaw<{ n: bigint }[]>`
    SELECT count(*) AS n FROM (SELECT 1 FROM audit_logs l ${whereOf(filter)} LIMIT ${cap}) capped`;
  return Number(rows[0]?.n ?? 0);
}
