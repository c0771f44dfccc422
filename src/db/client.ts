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

export function connectDatabase(url: string, poolSize: number): DatabaseHandle {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, application_name: "brokkr-broker" });
  pool.on("error", () => {
    // Idle-client errors (server restart) are surfaced by the next query; keep the process up.
  });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    pool,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/** Runs `fn` in one transaction: every mutation is all or nothing. */
export function inTransaction<T>(db: PrismaClient, fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
  return db.$transaction(fn, { maxWait: 10_000, timeout: 30_000 });
}
