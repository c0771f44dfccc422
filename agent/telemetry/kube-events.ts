import type { Logger } from "pino";
import type { AgentObjectApi } from "../kube/client.ts";
import type { CoreV1Event, V1Pod } from "../kube/objects.ts";
import { STACK_LABEL } from "../kube/ownership.ts";
import type { TelemetryBuffer } from "./buffer.ts";

/** Events one tick reads at most (pages of EVENT_PAGE). */
const EVENT_PAGE = 500;
const MAX_PAGES = 4;
/** Event versions remembered, so an event is sent once per change (count, message). */
const MAX_SEEN = 10_000;
/** Stack of an involved object that is not a pod of the tick's list: looked up once, then cached. */
const OWNER_CACHE_MAX = 10_000;
const OWNER_CACHE_TTL_MS = 5 * 60_000;

type Involved = NonNullable<CoreV1Event["involvedObject"]>;

/**
 * Kubernetes events about the stacks' resources, found by listing Events (all namespaces,
 * bounded pages per tick) and keeping those whose involved object carries the stack label of a
 * stack this agent runs: pods from the tick's pod list, any other object read once and cached
 * (as Brokkr's LRU, 10k entries, 5 minutes). Events older than the agent's start are skipped.
 */
export class KubeEventPoller {
  private readonly seen = new Map<string, string>();
  private readonly owners = new Map<string, { stackId: string | null; at: number }>();
  private readonly startedAt = Date.now();

  constructor(private readonly deps: { objects: AgentObjectApi; buffer: TelemetryBuffer; logger: Logger }) {}

  async tick(pods: V1Pod[], stacks: ReadonlySet<string>): Promise<void> {
    const podStacks = new Map(
      pods.map((p) => [`${p.metadata?.namespace}/${p.metadata?.name}`, p.metadata?.labels?.[STACK_LABEL]]),
    );
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const list = await this.deps.objects.list<CoreV1Event>(
        "v1",
        "Event",
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        EVENT_PAGE,
        token,
      );
      for (const event of list.items) await this.consider(event, podStacks, stacks);
      token = list.metadata?.continue || undefined;
      if (!token) break;
    }
  }

  private async consider(event: CoreV1Event, podStacks: Map<string, string | undefined>, stacks: ReadonlySet<string>) {
    const uid = event.metadata?.uid ?? `${event.metadata?.namespace}/${event.metadata?.name}`;
    const version = event.metadata?.resourceVersion ?? "";
    if (this.seen.get(uid) === version) return;
    this.remember(uid, version);
    const at = timeOf(event);
    if (!at || at.getTime() < this.startedAt) return;
    const involved = event.involvedObject;
    const stackId =
      involved.kind === "Pod" && podStacks.has(`${involved.namespace}/${involved.name}`)
        ? podStacks.get(`${involved.namespace}/${involved.name}`)
        : await this.stackOf(involved);
    if (!stackId || !stacks.has(stackId)) return;
    this.deps.buffer.addEvent({
      stackId,
      observedAt: at.toISOString(),
      reason: event.reason ?? "",
      message: event.message ?? "",
      eventType: event.type ?? "Normal",
      source: event.source?.component ?? event.reportingComponent ?? null,
      involvedObject: {
        apiVersion: involved.apiVersion ?? "v1",
        kind: involved.kind ?? "",
        namespace: involved.namespace ?? null,
        name: involved.name ?? "",
        uid: involved.uid ?? null,
      },
    });
  }

  private remember(uid: string, version: string): void {
    this.seen.delete(uid);
    this.seen.set(uid, version);
    if (this.seen.size > MAX_SEEN) this.seen.delete(this.seen.keys().next().value ?? "");
  }

  private async stackOf(o: Involved): Promise<string | null> {
    if (!o.kind || !o.name) return null;
    const key = `${o.apiVersion}/${o.kind}/${o.namespace ?? ""}/${o.name}`;
    const cached = this.owners.get(key);
    if (cached && Date.now() - cached.at < OWNER_CACHE_TTL_MS) return cached.stackId;
    let stackId: string | null = null;
    try {
      const live = await this.deps.objects.read({
        apiVersion: o.apiVersion ?? "v1",
        kind: o.kind,
        metadata: { name: o.name, ...(o.namespace ? { namespace: o.namespace } : {}) },
      });
      stackId = live.metadata?.labels?.[STACK_LABEL] ?? live.metadata?.annotations?.[STACK_LABEL] ?? null;
    } catch (err) {
      this.deps.logger.debug({ err: String(err), kind: o.kind, name: o.name }, "reading an event's object failed");
    }
    this.owners.delete(key);
    this.owners.set(key, { stackId, at: Date.now() });
    if (this.owners.size > OWNER_CACHE_MAX) this.owners.delete(this.owners.keys().next().value ?? "");
    return stackId;
  }
}

function timeOf(e: CoreV1Event): Date | null {
  const raw = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  if (!raw) return null;
  const d = new Date(raw as Date | string);
  return Number.isNaN(d.getTime()) ? null : d;
}
