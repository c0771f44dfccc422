import type pg from "pg";
import type { Scheduler } from "../scheduler/scheduler.js";
import { deletePrefix, moveBase, oldestRows, readChain, retentionCutoff, type Sql } from "./store.js";

/** Rows deleted per transaction: writers wait on the chain row meanwhile, so keep it short. */
const CHUNK = 5000;
const HOURLY = 3_600_000;

/**
 * One transaction of the clean-up. Deletes the oldest rows up to (not including) the first row
 * younger than the cutoff, so only a prefix of the chain goes (timestamps of several brokers may
 * disagree with seq order by their clock skew, and a hole would read as tampering), and moves
 * the chain's base to the first row kept, so verification starts there. Holds the chain row
 * like a writer does: a batch never lands between reading the head and moving the base.
 */
async function deleteChunk(sql: Sql, days: number): Promise<number> {
  const cutoff = await retentionCutoff(sql, days);
  const chain = await readChain(sql, true);
  const oldest = await oldestRows(sql, CHUNK + 1);
  const firstYoung = oldest.findIndex((r) => r.timestamp >= cutoff);
  const keep = firstYoung >= 0 ? firstYoung : Math.min(CHUNK, oldest.length);
  if (keep === 0) return 0;
  // Everything older went: the next row written is the new base, chaining from the head.
  const kept = oldest[keep] ?? { seq: chain.headSeq + 1n, prevHash: chain.headHash };
  const deleted = await deletePrefix(sql, kept.seq, cutoff);
  await moveBase(sql, kept.seq, kept.prevHash);
  return deleted;
}

/** Deletes audit rows older than `days`, a chunk per transaction, until none is left or it is stopped. */
export async function cleanUpAuditLog(pool: pg.Pool, days: number, signal?: AbortSignal): Promise<number> {
  let total = 0;
  while (!signal?.aborted) {
    const client = await pool.connect();
    let deleted = 0;
    // As in the writer: an error between queries must not end the process (the next query fails).
    let broken: Error | undefined;
    const onError = (err: Error) => void (broken = err);
    client.on("error", onError);
    try {
      await client.query("BEGIN");
      deleted = await deleteChunk(client, days);
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.off("error", onError);
      client.release(broken);
    }
    total += deleted;
    if (deleted < CHUNK) break;
  }
  return total;
}

export const AUDIT_RETENTION_TASK = "audit-retention";

/** Brokkr's clean-up runs daily; hourly keeps each run (and the time writers wait) small. */
/** `retentionDays` is read at each run, so a configuration reload changes it. */
export function registerAuditTasks(scheduler: Scheduler, pool: pg.Pool, retentionDays: () => number): void {
  scheduler.register({
    name: AUDIT_RETENTION_TASK,
    intervalMs: HOURLY,
    run: (signal) => cleanUpAuditLog(pool, retentionDays(), signal),
  });
}
