import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient, type Prisma } from "../generated/prisma/client.js";

export type Database = PrismaClient;
/** What stores accept: the client, or a transaction client inside `db.$transaction`. */
export type Db = PrismaClient | Prisma.TransactionClient;

export interface DatabaseHandle {
  prisma: PrismaClient;
  pool: pg.Pool;
  close(): Promise<void>;
}

export interface PoolLimits {
  /** Server-side limit per statement (`statement_timeout`); 0 disables it. */
  statementTimeoutMs: number;
  /** Waiting for a pooled connection, connecting included. */
  connectTimeoutMs: number;
  /** Errors of idle or checked-out connections that no query is waiting for (server restart). */
  onConnectionError?: (err: Error) => void;
  /** BROKKR__DATABASE__SCHEMA: Prisma qualifies its queries with it; `url` sets the search path. */
  schema?: string;
}

const DEFAULT_LIMITS: PoolLimits = { statementTimeoutMs: 10_000, connectTimeoutMs: 5_000 };
/**
 * A stalled server (paused, or a network black hole) never sends the cancel statement_timeout
 * asks for, so the driver gives up on its own a little later; that connection is then discarded.
 */
const CLIENT_TIMEOUT_MARGIN_MS = 2_000;

export function poolConfig(url: string, max: number, limits: PoolLimits = DEFAULT_LIMITS): pg.PoolConfig {
  return {
    connectionString: url,
    max,
    application_name: "brokkr-broker",
    connectionTimeoutMillis: limits.connectTimeoutMs,
    keepAlive: true,
    ...(limits.statementTimeoutMs > 0
      ? {
          statement_timeout: limits.statementTimeoutMs,
          query_timeout: limits.statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
          // A transaction left open by a bug or a stalled client must not hold locks for ever.
          idle_in_transaction_session_timeout: Math.max(limits.statementTimeoutMs * 3, 30_000),
        }
      : {}),
  };
}

export function connectDatabase(url: string, poolSize: number, limits: PoolLimits = DEFAULT_LIMITS): DatabaseHandle {
  const pool = new pg.Pool(poolConfig(url, poolSize, limits));
  let closing = false;
  // pool.end() resolves once its clients are told to end, not once they have: a server stopped
  // right after (embedded PostgreSQL) may still terminate them. That is not a fault.
  const onError = (err: Error) => void (closing || limits.onConnectionError?.(err));
  // Without a listener an idle client's error (server restart) would crash the process; the
  // pool has already discarded that client, and the next query opens a fresh one.
  pool.on("error", onError);
  const prisma = new PrismaClient({
    adapter: new PrismaPg(pool, { onConnectionError: onError, ...(limits.schema ? { schema: limits.schema } : {}) }),
  });
  pools.set(prisma, pool);
  return {
    prisma,
    pool,
    async close() {
      closing = true;
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

const pools = new WeakMap<object, pg.Pool>();

/**
 * Rows of one raw statement, by plain `pg` on the client's own pool when `db` is a client made
 * here: one round trip, without Prisma's query engine (on the createDeploymentObject path that
 * engine took about a tenth of the broker's CPU). A transaction client runs it through Prisma, in
 * its transaction. `sql` uses $1… placeholders.
 */
export async function queryRows<T>(db: Db, sql: string, params: unknown[]): Promise<T[]> {
  const pool = pools.get(db);
  if (pool) return (await pool.query(sql, params)).rows as T[];
  return db.$queryRawUnsafe<T[]>(sql, ...params);
}

/** Runs `fn` in one transaction: every mutation is all or nothing. */
export function inTransaction<T>(db: PrismaClient, fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
  return db.$transaction(fn, { maxWait: 10_000, timeout: 30_000 });
}
