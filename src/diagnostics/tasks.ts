import type { Db } from "../db/client.js";
import type { NotificationListener } from "../delivery/listener.js";
import type { Scheduler } from "../scheduler/scheduler.js";
import { DiagnosticFeed } from "./feed.js";
import { deleteExpired } from "./store.js";

export const DIAGNOSTIC_CLEANUP_TASK = "diagnostic-cleanup";
/** Rows per DELETE, and batches per run: one run stays short even after a long outage. */
const CLEANUP_BATCH = 5_000;
const CLEANUP_MAX_BATCHES = 20;

/**
 * Deletes expired diagnostic requests (results cascade). Several brokers may run it at once:
 * each batch is one DELETE … WHERE expires_at < now(), and a row another broker deleted first is
 * simply not there to delete, so no claim or lock is needed.
 */
export async function cleanUpDiagnostics(db: Db, signal: AbortSignal): Promise<number> {
  let total = 0;
  for (let i = 0; i < CLEANUP_MAX_BATCHES && !signal.aborted; i++) {
    const deleted = await deleteExpired(db, CLEANUP_BATCH);
    total += deleted;
    if (deleted < CLEANUP_BATCH) break;
  }
  return total;
}

/** The diagnostics feature's broker wiring: its clean-up task and its push feed. */
export function registerDiagnostics(deps: {
  scheduler: Scheduler;
  db: Db;
  listener: NotificationListener;
  /** A function: read before each wait, so a configuration reload changes it. */
  cleanupIntervalMs: () => number;
}): DiagnosticFeed {
  deps.scheduler.register({
    name: DIAGNOSTIC_CLEANUP_TASK,
    intervalMs: deps.cleanupIntervalMs,
    run: (signal) => cleanUpDiagnostics(deps.db, signal),
  });
  return new DiagnosticFeed(deps.db, deps.listener);
}
