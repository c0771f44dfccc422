import type { TelemetryLimits } from "../config.js";
import type { Db } from "../db/client.js";
import type { Scheduler } from "../scheduler/scheduler.js";
import { retentionSeconds } from "./service.js";
import { purgeChunk } from "./store.js";

export const RETENTION_TASK = "telemetry-retention";
const EVERY_MS = 60_000;
/**
 * Rows per DELETE: small enough that one statement stays well inside the statement timeout and
 * holds few locks, so a backlog is worked off in chunks (up to MAX_CHUNKS per run) rather than
 * one long transaction.
 */
const CHUNK = 5000;
const MAX_CHUNKS = 200;

/**
 * Deletes telemetry older than the retention window. Safe on several brokers at once: a row is
 * deleted once whoever gets there first, the others find nothing.
 */
export function registerRetentionTask(scheduler: Scheduler, db: Db, limits: TelemetryLimits): void {
  scheduler.register({
    name: RETENTION_TASK,
    intervalMs: EVERY_MS,
    async run(signal) {
      const cutoff = new Date(Date.now() - retentionSeconds(limits) * 1000);
      let deleted = 0;
      for (const kind of ["events", "logs", "gaps"] as const) {
        for (let i = 0; i < MAX_CHUNKS && !signal.aborted; i++) {
          const n = await purgeChunk(db, kind, cutoff, CHUNK);
          deleted += n;
          if (n < CHUNK) break;
        }
      }
      return deleted;
    },
  });
}
