import pg from "pg";
import type { Registry } from "prom-client";
import { type PoolLimits, poolConfig } from "../db/client.js";
import { AuditWriter, DEFAULT_WRITER_OPTIONS } from "./writer.js";

/** Connections of the writer and the clean-up: one writes at a time, one spare for the clean-up. */
const AUDIT_POOL_SIZE = 2;

export interface AuditLog {
  writer: AuditWriter;
  /** Its own pool: audit writes never wait for (or take) a request's connection. */
  pool: pg.Pool;
  /** Writes what is queued (for at most `timeoutMs`), then closes the pool. */
  stop(timeoutMs: number): Promise<void>;
}

export function createAuditLog(
  databaseUrl: string,
  limits: PoolLimits,
  registry: Registry,
  opts: { queueCapacity: number },
): AuditLog {
  const pool = new pg.Pool({ ...poolConfig(databaseUrl, AUDIT_POOL_SIZE, limits), application_name: "brokkr-audit" });
  // An idle connection's error (server restart) must not end the process; the pool replaces it.
  pool.on("error", (err) => limits.onConnectionError?.(err));
  const writer = new AuditWriter(pool, registry, { ...DEFAULT_WRITER_OPTIONS, capacity: opts.queueCapacity });
  return {
    writer,
    pool,
    async stop(timeoutMs) {
      await writer.stop(timeoutMs);
      await pool.end();
    },
  };
}
