import type { TelemetryLimits } from "../config.js";
import type { Database } from "../db/client.js";
import { BrokkrError, fromDatabaseError } from "../errors.js";
import { moduleLogger } from "../logger.js";
import { isUuid } from "../validation.js";
import { MAX_BATCH_RECORDS, type TelemetryBatch } from "../telemetry/records.js";
import { reportTelemetry } from "../telemetry/service.js";
import type { AgentWsMetrics } from "./metrics.js";
import type { AgentIdentity } from "./uplink.js";
import type { TelemetryFrame } from "./wire.js";

const log = moduleLogger("brokkr-ws");

/** Brokkr's telemetry lane holds 1024 frames; past that a frame is dropped (and a line counted into a gap). */
const LANE_SLOTS = 1024;
/**
 * A batch is written at this many frames, leaving room under MAX_BATCH_RECORDS for the
 * overflow gaps (one per stack, at most OVERFLOW_STACKS) that ride along.
 */
const FLUSH_AT = MAX_BATCH_RECORDS - 100;
const OVERFLOW_STACKS = 100;
/** Frames arriving within this window share one write and one notify. */
const FLUSH_DELAY_MS = 50;

const emptyBatch = (): TelemetryBatch => ({ events: [], logs: [], gaps: [] });

/**
 * Brokkr's agent sends telemetry one frame at a time (k8s_event, pod_log_line, log_gap). This
 * lane gathers them into batches for the same service as the reportTelemetry mutation, so a
 * busy agent costs one INSERT per table and one notify per batch, not per line. It never waits
 * behind the control lane. Frames for stacks that do not reach the agent are dropped there, as
 * Brokkr drops refused frames (its wire has no error reply).
 */
export class TelemetryLane {
  private readonly pending: TelemetryFrame[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  /** Lines dropped because the lane was full, per stack, reported as one buffer_full gap each. */
  private overflow = new Map<string, { count: number; since: Date }>();
  private closed = false;

  constructor(
    private readonly deps: {
      db: Database;
      identity: AgentIdentity;
      limits: TelemetryLimits;
      metrics: AgentWsMetrics;
      /** Re-reads the key (false when revoked): no write after a revocation committed. */
      recheck: () => Promise<boolean>;
    },
  ) {}

  push(frame: TelemetryFrame): void {
    if (this.closed) return;
    if (this.pending.length >= LANE_SLOTS) return this.dropped(frame);
    this.pending.push(frame);
    if (this.pending.length >= FLUSH_AT) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_DELAY_MS);
  }

  /** Takes no more frames; those already received are still written (the key is re-read first). */
  close(): void {
    this.closed = true;
    void this.flush();
  }

  /** Adds the frame's record to the batch; false when a time in it does not parse. */
  private add(batch: TelemetryBatch, frame: TelemetryFrame): boolean {
    const b = frame.body;
    if (!isUuid(b.stack_id)) return false;
    if (frame.type === "k8s_event") {
      const observedAt = dateOf(frame.body.observed_at);
      if (!observedAt) return false;
      const o = frame.body.involved_object;
      batch.events.push({
        stackId: b.stack_id,
        observedAt,
        reason: frame.body.reason,
        message: frame.body.message,
        eventType: frame.body.event_type,
        source: frame.body.source ?? null,
        involvedObject: {
          apiVersion: o.api_version,
          kind: o.kind,
          namespace: o.namespace ?? null,
          name: o.name,
          uid: o.uid ?? null,
        },
      });
    } else if (frame.type === "pod_log_line") {
      const ts = dateOf(frame.body.ts);
      if (!ts) return false;
      const { namespace, pod, container, line } = frame.body;
      batch.logs.push({ stackId: b.stack_id, namespace, pod, container, ts, line });
    } else {
      const sinceTs = dateOf(frame.body.since_ts);
      if (!sinceTs) return false;
      batch.gaps.push({ stackId: b.stack_id, sinceTs, droppedCount: frame.body.dropped_count, reason: frame.body.reason });
    }
    return true;
  }

  private dropped(frame: TelemetryFrame): void {
    this.deps.metrics.dropped("telemetry_lane_full");
    if (frame.type !== "pod_log_line") return;
    if (!this.overflow.has(frame.body.stack_id) && this.overflow.size >= OVERFLOW_STACKS) return;
    const at = dateOf(frame.body.ts) ?? new Date();
    const d = this.overflow.get(frame.body.stack_id) ?? { count: 0, since: at };
    d.count++;
    this.overflow.set(frame.body.stack_id, d);
  }

  /** Writes what is gathered; one write at a time, so batches are stored in arrival order. */
  private async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.takeBatch();
    if (batch.events.length + batch.logs.length + batch.gaps.length === 0) return;
    this.flushing = this.write(batch).finally(() => {
      this.flushing = null;
      if (this.pending.length > 0) void this.flush();
    });
    return this.flushing;
  }

  private takeBatch(): TelemetryBatch {
    const batch = emptyBatch();
    for (const frame of this.pending.splice(0, FLUSH_AT)) if (!this.add(batch, frame)) this.deps.metrics.dropped("malformed");
    for (const [stackId, d] of this.overflow)
      batch.gaps.push({ stackId, sinceTs: d.since, droppedCount: d.count, reason: "buffer_full" });
    this.overflow.clear();
    return batch;
  }

  private async write(batch: TelemetryBatch): Promise<void> {
    try {
      if (!(await this.deps.recheck())) return;
      const outcome = await reportTelemetry(this.deps.db, this.deps.identity, batch, this.deps.limits, "drop");
      this.deps.metrics.applied("telemetry_batch");
      if (outcome.refused > 0) this.deps.metrics.dropped("forbidden", outcome.refused);
    } catch (err) {
      const coded = fromDatabaseError(err);
      const reason = coded instanceof BrokkrError ? coded.code.toLowerCase() : "internal_error";
      if (!(coded instanceof BrokkrError)) log.error({ err, agentId: this.deps.identity.id }, "writing telemetry failed");
      this.deps.metrics.dropped(reason);
    }
  }
}

function dateOf(value: string): Date | null {
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}
