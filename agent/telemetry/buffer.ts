import type { LogGapReason, ReportTelemetryInput, TelemetryEventInput, TelemetryLogLineInput } from "../generated/operations.ts";
import { TokenBucket } from "./token-bucket.ts";

/** Records of one kind one mutation carries (the broker's list cap is 50). */
export const BATCH_LIST_MAX = 50;
/** Records held while the broker is slow or away; past this they are counted into gaps. */
const MAX_PENDING = 2000;
/** Containers whose buckets are kept; an idle one's bucket is forgotten after this. */
const BUCKET_IDLE_MS = 10 * 60_000;

type GapKind = "rate_limit" | "buffer_full" | "disconnected";

interface Gap {
  count: number;
  since: Date;
}

/**
 * What the agent has to send: bounded. Log lines pass a token bucket per container
 * (`linesPerSecond`, burst of one second); a line over the rate, or past the pending cap, is
 * not kept but counted into a gap per stack and reason, sent as a record of its own so the
 * history shows where lines are missing.
 */
export class TelemetryBuffer {
  private events: TelemetryEventInput[] = [];
  private logs: TelemetryLogLineInput[] = [];
  private readonly gaps = new Map<string, Gap>();
  private readonly buckets = new Map<string, { bucket: TokenBucket; used: number }>();
  /** Lines dropped so far, by reason (the agent's metrics read it). */
  readonly dropped: Record<GapKind, number> = {
    rate_limit: 0,
    buffer_full: 0,
    disconnected: 0,
  };

  constructor(private readonly linesPerSecond: number) {}

  get size(): number {
    return this.events.length + this.logs.length + this.gaps.size;
  }

  addEvent(event: TelemetryEventInput): void {
    if (this.events.length + this.logs.length >= MAX_PENDING) return this.countGap(event.stackId, "buffer_full", new Date());
    this.events.push(event);
  }

  addLine(line: TelemetryLogLineInput, now = Date.now()): void {
    const key = `${line.namespace}/${line.pod}/${line.container}`;
    let entry = this.buckets.get(key);
    if (!entry)
      this.buckets.set(key, (entry = { bucket: new TokenBucket(this.linesPerSecond, this.linesPerSecond, now), used: now }));
    entry.used = now;
    if (!entry.bucket.take(now)) return this.countGap(line.stackId, "rate_limit", new Date(line.ts));
    if (this.events.length + this.logs.length >= MAX_PENDING)
      return this.countGap(line.stackId, "buffer_full", new Date(line.ts));
    this.logs.push(line);
  }

  /** Lines the agent could not send (no websocket): counted, as Brokkr counts `disconnected`. */
  countGap(stackId: string, reason: GapKind, at: Date, count = 1): void {
    this.dropped[reason] += count;
    this.addGap(stackId, reason, at, count);
  }

  private addGap(stackId: string, reason: GapKind, at: Date, count: number): void {
    const key = `${stackId}|${reason}`;
    const gap = this.gaps.get(key) ?? { count: 0, since: at };
    gap.count += count;
    if (at < gap.since) gap.since = at;
    this.gaps.set(key, gap);
  }

  /** The next batch to send (at most BATCH_LIST_MAX of each kind), removed from the buffer. */
  take(): ReportTelemetryInput | null {
    if (this.size === 0) return null;
    const events = this.events.splice(0, BATCH_LIST_MAX);
    const logs = this.logs.splice(0, BATCH_LIST_MAX);
    const gaps = [...this.gaps].slice(0, BATCH_LIST_MAX).map(([key, g]) => {
      this.gaps.delete(key);
      const [stackId = "", reason = ""] = key.split("|");
      return { stackId, sinceTs: g.since.toISOString(), droppedCount: g.count, reason: reason.toUpperCase() as LogGapReason };
    });
    return { events, logs, gaps };
  }

  /** A batch that could not be sent: its events and lines become `disconnected` gaps, its gaps are kept. */
  lost(batch: ReportTelemetryInput): void {
    for (const e of batch.events ?? []) this.countGap(e.stackId, "disconnected", new Date(e.observedAt));
    for (const l of batch.logs ?? []) this.countGap(l.stackId, "disconnected", new Date(l.ts));
    // Already counted when they were dropped; only kept for the next batch.
    for (const g of batch.gaps ?? [])
      this.addGap(g.stackId, g.reason.toLowerCase() as GapKind, new Date(g.sinceTs), g.droppedCount);
  }

  /** Forgets the buckets of containers not seen for a while, so the map stays as big as the live set. */
  sweep(now = Date.now()): void {
    for (const [key, entry] of this.buckets) if (now - entry.used > BUCKET_IDLE_MS) this.buckets.delete(key);
  }
}
