import { Counter, type Registry } from "prom-client";
import { classifyFault, sqlState } from "./errors.js";
import { moduleLogger } from "./logger.js";

const log = moduleLogger("faults");

/** Where a database or network error surfaced without a request waiting for it. */
export type FaultSource = "pool" | "listener" | "http" | "websocket" | "process" | "presence" | "scheduler";

export interface FaultRecorder {
  /** Logs and counts an error the broker recovered from (brokkr_recovered_errors_total{source}). */
  record(source: FaultSource, err: unknown): void;
}

export const TOO_MANY_CONNECTIONS_HINT =
  "PostgreSQL refused a connection for lack of slots (SQLSTATE 53300): each broker needs " +
  "BROKKR__DATABASE__POOL_SIZE + 1 connections (pool plus LISTEN); raise max_connections or lower the pool size";

/**
 * An error's operator-facing line: the sizing rule when connections ran out, else the last line
 * of its message (Prisma's messages start with the call site and end with the reason).
 */
export function describeFault(err: unknown): string {
  if (classifyFault(err) === "TOO_MANY_CONNECTIONS") return TOO_MANY_CONNECTIONS_HINT;
  const message = (err as { message?: unknown })?.message;
  const text = typeof message === "string" && message ? message : String(err);
  return (
    text
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? text
  );
}

export function createFaultRecorder(registry: Registry): FaultRecorder {
  const counter = new Counter({
    name: "brokkr_recovered_errors_total",
    help: "Database and network errors the broker logged and recovered from, by where they surfaced",
    labelNames: ["source"] as const,
    registers: [registry],
  });
  return {
    record(source, err) {
      counter.inc({ source });
      const code = (err as { code?: unknown })?.code;
      log.warn({ source, code, reason: describeFault(err) }, "recovered from a database or network error");
    },
  };
}

/** One line for a failed start: a taken port, PostgreSQL out of reach or out of connections, or the error's own message. */
export function describeStartFailure(err: unknown, listen: { host: string; port: number }): Error {
  const code = (err as { code?: unknown })?.code;
  if (code === "EADDRINUSE")
    return new Error(`port ${listen.port} on ${listen.host} is already in use (set BROKKR__BROKER__PORT)`);
  if (code === "EACCES") return new Error(`not allowed to listen on ${listen.host}:${listen.port} (set BROKKR__BROKER__PORT)`);
  const fault = classifyFault(err);
  if (fault === "TOO_MANY_CONNECTIONS") return new Error(TOO_MANY_CONNECTIONS_HINT);
  if (fault) return new Error(`PostgreSQL is unreachable or not answering (BROKKR__DATABASE__URL): ${describeFault(err)}`);
  // An undefined table or function at start: the schema was never migrated (BROKKR__DATABASE__MIGRATE=false).
  const state = sqlState(err);
  if (state === "42P01" || state === "42883") {
    return new Error("the database is not migrated: run `npm run migrate` (or unset BROKKR__DATABASE__MIGRATE=false)");
  }
  return err instanceof Error ? err : new Error(String(err));
}
