import type { TelemetryLimits } from "../config.js";

/*
 * One agent batch of telemetry as the services take it, whatever it came over (our agent's
 * reportTelemetry mutation, Brokkr's agent's k8s_event / pod_log_line / log_gap frames), and
 * the broker's bounds on it: text is cut to size (an agent's data, not a person's input, so it
 * is kept rather than refused), and rows past the per-stack cap become one gap record.
 */

export type GapReason = "rate_limit" | "buffer_full" | "disconnected";

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  namespace: string | null;
  name: string;
  uid: string | null;
}

export interface EventRecord {
  stackId: string;
  observedAt: Date;
  reason: string;
  message: string;
  eventType: string;
  source: string | null;
  involvedObject: InvolvedObject;
}

export interface LogRecord {
  stackId: string;
  namespace: string;
  pod: string;
  container: string;
  ts: Date;
  line: string;
}

export interface GapRecord {
  stackId: string;
  sinceTs: Date;
  droppedCount: number;
  reason: GapReason;
}

export interface TelemetryBatch {
  events: EventRecord[];
  logs: LogRecord[];
  gaps: GapRecord[];
}

/** Records one batch may carry in all (the mutation refuses more; the socket lane flushes at it). */
export const MAX_BATCH_RECORDS = 500;

const NAME_CHARS = 253; // a Kubernetes name's maximum
const SHORT_CHARS = 256;
const MESSAGE_BYTES = 8192;

/** Valid UTF-8 without NULs (PostgreSQL text refuses them), at most `maxBytes` bytes. */
export function boundedText(value: string, maxBytes: number): string {
  const clean = value.replaceAll(String.fromCharCode(0), "");
  const bytes = Buffer.from(clean, "utf8"); // a lone surrogate becomes U+FFFD here
  if (bytes.length <= maxBytes) return bytes.toString("utf8");
  // Cutting mid-character leaves a partial sequence, decoded as one U+FFFD, which is dropped.
  return bytes
    .subarray(0, maxBytes)
    .toString("utf8")
    .replace(/\uFFFD$/, "");
}

const name = (v: string) => boundedText(v, NAME_CHARS);
const short = (v: string) => boundedText(v, SHORT_CHARS);
const optional = (v: string | null | undefined, bound: (v: string) => string) => (v == null ? null : bound(v));

export function boundEvent(e: EventRecord): EventRecord {
  const o = e.involvedObject;
  return {
    ...e,
    reason: short(e.reason),
    message: boundedText(e.message, MESSAGE_BYTES),
    eventType: short(e.eventType),
    source: optional(e.source, short),
    involvedObject: {
      apiVersion: short(o.apiVersion),
      kind: short(o.kind),
      namespace: optional(o.namespace, name),
      name: name(o.name),
      uid: optional(o.uid, short),
    },
  };
}

export function boundLog(l: LogRecord, limits: TelemetryLimits): LogRecord {
  return {
    ...l,
    namespace: name(l.namespace),
    pod: name(l.pod),
    container: name(l.container),
    line: boundedText(l.line, limits.maxLineBytes),
  };
}

/**
 * The batch within the broker's bounds: text cut to size, and per stack at most
 * `maxRowsPerStack` events and lines (in the order sent); what is past it is counted into one
 * `buffer_full` gap for that stack, dated at the earliest dropped record.
 */
export function boundBatch(batch: TelemetryBatch, limits: TelemetryLimits): TelemetryBatch {
  const kept = new Map<string, number>();
  const dropped = new Map<string, { count: number; since: Date }>();
  const admit = (stackId: string, at: Date) => {
    const n = kept.get(stackId) ?? 0;
    if (n < limits.maxRowsPerStack) {
      kept.set(stackId, n + 1);
      return true;
    }
    const d = dropped.get(stackId) ?? { count: 0, since: at };
    d.count++;
    if (at < d.since) d.since = at;
    dropped.set(stackId, d);
    return false;
  };
  const events = batch.events.filter((e) => admit(e.stackId, e.observedAt)).map(boundEvent);
  const logs = batch.logs.filter((l) => admit(l.stackId, l.ts)).map((l) => boundLog(l, limits));
  const overflow: GapRecord[] = [...dropped].map(([stackId, d]) => ({
    stackId,
    sinceTs: d.since,
    droppedCount: d.count,
    reason: "buffer_full",
  }));
  return { events, logs, gaps: [...batch.gaps, ...overflow] };
}

export function stacksOf(batch: TelemetryBatch): string[] {
  return [...new Set([...batch.events, ...batch.logs, ...batch.gaps].map((r) => r.stackId))];
}

export function recordCount(batch: TelemetryBatch): number {
  return batch.events.length + batch.logs.length + batch.gaps.length;
}
