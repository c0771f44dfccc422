import type { Logger } from "pino";
import type { CoreApi } from "../kube/client.ts";
import type { V1Pod } from "../kube/objects.ts";
import { STACK_LABEL } from "../kube/ownership.ts";
import type { TelemetryBuffer } from "./buffer.ts";

/** Lines read from a container the first time it is seen (its recent past, not its whole log). */
const INITIAL_TAIL_LINES = 100;
/** Bytes one read returns at most: a chatty container costs a bounded read per tick. */
const READ_LIMIT_BYTES = 256 * 1024;

interface Cursor {
  /** The newest kubelet timestamp read (RFC 3339 with nanoseconds: ordered as text). */
  lastTs: string;
  /** Lines carrying exactly `lastTs` already read, skipped when read again. */
  atLast: number;
}

interface ContainerRef {
  stackId: string;
  namespace: string;
  pod: string;
  container: string;
}

const keyOf = (c: ContainerRef) => `${c.namespace}/${c.pod}/${c.container}`;

/**
 * Reads new log lines of the stacks' containers by polling (`timestamps=true`, `sinceSeconds`
 * from the newest line read, a byte cap), so its cost per tick is bounded: at most
 * `maxContainers` reads, each at most READ_LIMIT_BYTES. With more containers than that, each
 * tick starts where the last stopped, so every container gets its turn. Lines are deduplicated
 * by the kubelet's timestamps.
 */
export class PodLogTailer {
  private readonly cursors = new Map<string, Cursor>();
  private offset = 0;

  constructor(private readonly deps: { core: CoreApi; buffer: TelemetryBuffer; logger: Logger; maxContainers: number }) {}

  async tick(pods: V1Pod[], stacks: ReadonlySet<string>): Promise<void> {
    const containers = pods.flatMap((pod) => containersOf(pod, stacks)).sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    const live = new Set(containers.map(keyOf));
    for (const key of this.cursors.keys()) if (!live.has(key)) this.cursors.delete(key);
    const turn = containers.length <= this.deps.maxContainers ? containers : rotate(containers, this.offset);
    this.offset = (this.offset + this.deps.maxContainers) % Math.max(containers.length, 1);
    for (const ref of turn.slice(0, this.deps.maxContainers)) await this.read(ref);
  }

  private async read(ref: ContainerRef): Promise<void> {
    const cursor = this.cursors.get(keyOf(ref));
    let text: string;
    try {
      text = await this.deps.core.readNamespacedPodLog({
        name: ref.pod,
        namespace: ref.namespace,
        container: ref.container,
        timestamps: true,
        limitBytes: READ_LIMIT_BYTES,
        ...(cursor ? { sinceSeconds: sinceSecondsOf(cursor.lastTs) } : { tailLines: INITIAL_TAIL_LINES }),
      });
    } catch (err) {
      // A container not started yet, or a pod gone since the list: read again next tick.
      this.deps.logger.debug({ err: String(err), pod: ref.pod, container: ref.container }, "reading a pod log failed");
      return;
    }
    const lines = parseLines(text);
    let skip = cursor?.atLast ?? 0;
    for (const { ts, line } of lines) {
      if (cursor && ts < cursor.lastTs) continue;
      if (cursor && ts === cursor.lastTs && skip > 0) {
        skip--;
        continue;
      }
      this.deps.buffer.addLine({ ...ref, ts: isoOf(ts), line });
    }
    const newest = lines.at(-1)?.ts;
    if (newest) this.cursors.set(keyOf(ref), { lastTs: newest, atLast: lines.filter((l) => l.ts === newest).length });
  }
}

function containersOf(pod: V1Pod, stacks: ReadonlySet<string>): ContainerRef[] {
  const stackId = pod.metadata?.labels?.[STACK_LABEL];
  const namespace = pod.metadata?.namespace;
  const name = pod.metadata?.name;
  if (!stackId || !stacks.has(stackId) || !namespace || !name) return [];
  return (pod.spec?.containers ?? []).map((c) => ({ stackId, namespace, pod: name, container: c.name }));
}

function rotate<T>(list: T[], offset: number): T[] {
  return [...list.slice(offset), ...list.slice(0, offset)];
}

/** `<RFC 3339 nano timestamp> <line>` per line; a line without a timestamp (cut by limitBytes) is dropped. */
export function parseLines(text: string): { ts: string; line: string }[] {
  const out: { ts: string; line: string }[] = [];
  const rows = text.split("\n");
  // The last row is empty after a final newline, or a line cut short by limitBytes: read it next time.
  rows.pop();
  for (const row of rows) {
    const space = row.indexOf(" ");
    const ts = space > 0 ? row.slice(0, space) : "";
    if (!Number.isNaN(Date.parse(ts))) out.push({ ts, line: row.slice(space + 1) });
  }
  return out;
}

/** The window that still holds the line stamped `ts` (whole seconds, one spare). */
function sinceSecondsOf(ts: string): number {
  return Math.max(1, Math.ceil((Date.now() - Date.parse(ts)) / 1000) + 1);
}

const isoOf = (ts: string) => new Date(Date.parse(ts)).toISOString();
