import { randomUUID } from "node:crypto";
import type pg from "pg";
import { Counter, Gauge, type Registry } from "prom-client";
import { classifyFault } from "../errors.js";
import { moduleLogger } from "../logger.js";
import { type ChainedRow, rowHash } from "./chain.js";
import type { AuditEntry, AuditSink } from "./entry.js";
import { actorNames, appendRows, beginAndLockChain } from "./store.js";

const log = moduleLogger("audit");

export interface WriterOptions {
  /** Entries waiting (in flight included); past it, new ones are dropped and counted. */
  capacity: number;
  /** Written together once this many wait (and at most this many per transaction). */
  batchSize: number;
  /** Otherwise whatever waits is written this long after the first of it arrived. */
  flushIntervalMs: number;
  /**
   * The share of the queue entries of unauthenticated callers (auth failures, refused anonymous
   * mutations) may take: such clients can send as many as they like, and must not crowd out the
   * entries of authenticated ones.
   */
  anonymousShare: number;
}

export const DEFAULT_WRITER_OPTIONS: WriterOptions = {
  capacity: 10_000,
  batchSize: 100,
  flushIntervalMs: 1000,
  anonymousShare: 0.2,
};

const MAX_RETRY_DELAY_MS = 30_000;

/**
 * The audit log's writer, off the request path: `record` only queues (O(1), never waits, never
 * throws). Batches are written by one multi-row INSERT each, in a transaction that locks the
 * chain row, so the rows of every broker form one hash chain. A database outage keeps the queue
 * and retries with backoff (Brokkr loses the batch); only a full queue drops, counted in
 * brokkr_audit_entries_dropped_total and logged. `stop` writes what is queued.
 */
export class AuditWriter implements AuditSink {
  private queue: AuditEntry[] = [];
  private anonymousQueued = 0;
  private timer: NodeJS.Timeout | null = null;
  private draining: Promise<void> | null = null;
  private failures = 0;
  private stopped = false;
  /** Drops by reason since the last log line. */
  private droppedSinceLog = new Map<string, number>();
  private readonly written: Counter;
  private readonly dropped: Counter<"reason">;
  private readonly batches: Counter<"outcome">;

  constructor(
    private readonly pool: pg.Pool,
    registry: Registry,
    private readonly opts: WriterOptions = DEFAULT_WRITER_OPTIONS,
  ) {
    this.written = new Counter({
      name: "brokkr_audit_entries_written_total",
      help: "Audit entries written",
      registers: [registry],
    });
    this.dropped = new Counter({
      name: "brokkr_audit_entries_dropped_total",
      help: "Audit entries not written, by reason (queue_full, anonymous_capped, write_failed, shutdown)",
      labelNames: ["reason"] as const,
      registers: [registry],
    });
    this.batches = new Counter({
      name: "brokkr_audit_batches_total",
      help: "Audit batch writes, by outcome",
      labelNames: ["outcome"] as const,
      registers: [registry],
    });
    const queue = () => this.queue.length;
    new Gauge({
      name: "brokkr_audit_queue_depth",
      help: "Audit entries waiting to be written",
      registers: [registry],
      collect() {
        this.set(queue());
      },
    });
  }

  get queued(): number {
    return this.queue.length;
  }

  record(entry: AuditEntry): void {
    const anonymous = entry.actorType === "anonymous";
    if (this.stopped) return this.drop("shutdown", 1);
    if (this.queue.length >= this.opts.capacity) return this.drop("queue_full", 1);
    if (anonymous && this.anonymousQueued >= this.opts.capacity * this.opts.anonymousShare)
      return this.drop("anonymous_capped", 1);
    if (anonymous) this.anonymousQueued++;
    this.queue.push(entry);
    if (this.queue.length >= this.opts.batchSize) this.kick();
    else if (!this.timer) this.schedule(this.opts.flushIntervalMs);
  }

  /** Writes everything queued now (tests, shutdown); resolves when the queue is empty or writing fails. */
  async flush(): Promise<void> {
    while (this.queue.length > 0) {
      this.kick();
      await this.draining;
      if (this.failures > 0) return; // the database is away; the retry timer carries on
    }
  }

  /** Stops taking entries and writes those queued, for at most `timeoutMs`; the rest are dropped and counted. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    await Promise.race([this.flushUntilEmpty(), deadline]);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // A write still in flight (a hung database) is not waited for past the deadline.
    if (this.queue.length > 0) this.drop("shutdown", this.queue.splice(0).length);
  }

  private async flushUntilEmpty(): Promise<void> {
    while (this.queue.length > 0) {
      this.kick();
      await this.draining;
      if (this.queue.length > 0 && this.failures > 0)
        await new Promise((resolve) => setTimeout(resolve, this.retryDelay()).unref());
    }
  }

  private drop(reason: string, n: number): void {
    this.dropped.inc({ reason }, n);
    // One log line per second of dropping, not one per entry.
    if (this.droppedSinceLog.size === 0)
      setTimeout(() => {
        log.warn({ dropped: Object.fromEntries(this.droppedSinceLog) }, "audit entries dropped");
        this.droppedSinceLog.clear();
      }, 1000).unref();
    this.droppedSinceLog.set(reason, (this.droppedSinceLog.get(reason) ?? 0) + n);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), ms);
    this.timer.unref();
  }

  private retryDelay(): number {
    return Math.min(MAX_RETRY_DELAY_MS, 100 * 2 ** Math.min(this.failures, 10));
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.draining) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      if (this.queue.length > 0 && !this.timer && !this.stopped)
        this.schedule(this.failures > 0 ? this.retryDelay() : this.opts.flushIntervalMs);
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.opts.batchSize);
      try {
        await this.write(batch);
        this.failures = 0;
        this.batches.inc({ outcome: "ok" });
        this.written.inc(batch.length);
      } catch (err) {
        this.batches.inc({ outcome: "error" });
        if (classifyFault(err)) {
          // The database is away: keep the entries, retry later (the queue bound still holds).
          this.failures++;
          log.warn({ err, queued: this.queue.length }, "writing audit entries failed; retrying");
          return;
        }
        log.error({ err }, "audit entries refused by the database; dropping the batch");
        this.drop("write_failed", batch.length);
      }
      this.queue.splice(0, batch.length);
      this.anonymousQueued -= batch.filter((e) => e.actorType === "anonymous").length;
      // Below a full batch and not stopping, later entries wait for the timer.
      if (this.queue.length < this.opts.batchSize && !this.stopped && this.queue.length > 0) return;
    }
  }

  /** One transaction, three round trips: lock the chain row; insert the batch chained from its head and advance it; commit. */
  private async write(batch: AuditEntry[]): Promise<void> {
    const names = await actorNames(this.pool, unnamedActors(batch));
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A checked-out client's error between queries (the server going away) has no pool listener:
    // without one it would end the process. The next query fails with it and the batch is retried.
    const onError = (err: Error) => void (broken = err);
    client.on("error", onError);
    try {
      const chain = await beginAndLockChain(client);
      await appendRows(client, chainRows(batch, names, chain.headSeq, chain.headHash));
      await client.query("COMMIT");
    } catch (err) {
      broken = err instanceof Error ? err : new Error(String(err));
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      // A connection that failed mid-transaction is discarded rather than reused.
      client.off("error", onError);
      client.release(broken && classifyFault(broken) ? broken : undefined);
    }
  }
}

function unnamedActors(batch: AuditEntry[]): string[] {
  const ids = batch.filter((e) => e.actorName === undefined && e.actorId !== null && e.actorType !== "admin");
  return [...new Set(ids.map((e) => e.actorId as string))];
}

const KNOWN_NAMES: Record<string, string> = { admin: "admin", system: "system" };

/** The batch as rows chained from the head: seq and prev_hash follow on, each hash covers its row. */
export function chainRows(
  batch: AuditEntry[],
  names: Map<string, string>,
  headSeq: bigint,
  headHash: string,
): (ChainedRow & { hash: string })[] {
  const createdAt = new Date();
  let seq = headSeq;
  let prevHash = headHash;
  return batch.map((e) => {
    seq += 1n;
    const row = {
      seq,
      id: randomUUID(),
      timestamp: e.at,
      createdAt,
      actorType: e.actorType,
      actorId: e.actorId,
      actorName: e.actorName ?? (e.actorId ? names.get(e.actorId) : undefined) ?? KNOWN_NAMES[e.actorType] ?? null,
      action: e.action,
      resourceType: e.resourceType,
      resourceId: e.resourceId,
      details: e.details,
      ipAddress: e.ipAddress,
      userAgent: e.userAgent,
      prevHash,
    };
    const hash = rowHash(row);
    prevHash = hash;
    return { ...row, hash };
  });
}
