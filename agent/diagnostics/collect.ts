import type { CoreApi } from "../kube/client.ts";
import type { ListDeps } from "../kube/listing.ts";
import type { CoreV1Event, V1ContainerStatus, V1Pod } from "../kube/objects.ts";
import { describeKubeError, withTransientRetry } from "../kube/retry.ts";
import { DIAGNOSTIC_LIMITS as LIMITS } from "./limits.ts";
import { type DiagnosticTarget, type Found, findResources } from "./resources.ts";

export interface CollectDeps extends ListDeps {
  core: CoreApi;
}

/** A result as the broker takes it: each part JSON-encoded text (README, Diagnostics). */
export interface CollectedDiagnostics {
  podStatuses: string;
  events: string;
  logTails: string;
  collectedAt: string;
}

const clip = (text: string | undefined) =>
  text && text.length > LIMITS.messageChars ? text.slice(0, LIMITS.messageChars) : text;
const time = (d: Date | string | undefined | null) => (d ? new Date(d).toISOString() : null);

function containerJson(c: V1ContainerStatus) {
  return { name: c.name, ready: c.ready, restartCount: c.restartCount, image: c.image, state: c.state, lastState: c.lastState };
}

export function podStatusJson(pod: V1Pod) {
  const s = pod.status ?? {};
  return {
    namespace: pod.metadata?.namespace,
    name: pod.metadata?.name,
    phase: s.phase ?? null,
    reason: s.reason ?? null,
    message: clip(s.message) ?? null,
    nodeName: pod.spec?.nodeName ?? null,
    startTime: time(s.startTime),
    conditions: (s.conditions ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: clip(c.message) })),
    initContainers: (s.initContainerStatuses ?? []).map(containerJson),
    containers: (s.containerStatuses ?? []).map(containerJson),
  };
}

function eventJson(e: CoreV1Event) {
  return {
    namespace: e.metadata?.namespace,
    involvedObject: { kind: e.involvedObject?.kind, name: e.involvedObject?.name },
    type: e.type ?? null,
    reason: e.reason ?? null,
    message: clip(e.message) ?? null,
    count: e.count ?? 1,
    firstTimestamp: time(e.firstTimestamp),
    lastTimestamp: time(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp),
  };
}

/** Events about the found resources and pods (by uid, or kind and name), newest first. */
async function eventsOf(deps: CollectDeps, found: Found): Promise<ReturnType<typeof eventJson>[]> {
  const objects = [...found.resources, ...found.pods];
  const uids = new Set(objects.map((o) => o.metadata?.uid).filter(Boolean));
  const names = new Set(objects.map((o) => `${o.metadata?.namespace}/${o.kind ?? "Pod"}/${o.metadata?.name}`));
  const namespaces = [...new Set(objects.map((o) => o.metadata?.namespace).filter((n): n is string => !!n))];
  const matched: CoreV1Event[] = [];
  for (const namespace of namespaces.slice(0, LIMITS.eventNamespaces)) {
    let token: string | undefined;
    let scanned = 0;
    do {
      const list = await withTransientRetry(
        () => deps.core.listNamespacedEvent({ namespace, limit: 500, _continue: token }),
        deps.retry,
      );
      scanned += list.items.length;
      for (const e of list.items) {
        const io = e.involvedObject;
        if ((io?.uid && uids.has(io.uid)) || names.has(`${io?.namespace ?? namespace}/${io?.kind}/${io?.name}`)) matched.push(e);
      }
      token = list.metadata?.continue || undefined;
    } while (token && scanned < LIMITS.eventsScanned);
  }
  const events = matched.map(eventJson);
  events.sort((a, b) => (b.lastTimestamp ?? "").localeCompare(a.lastTimestamp ?? ""));
  return events.slice(0, LIMITS.events);
}

interface LogTail {
  namespace: string;
  pod: string;
  container: string;
  log?: string;
  error?: string;
}

async function logTailsOf(deps: CollectDeps, pods: V1Pod[]): Promise<LogTail[]> {
  const tails: LogTail[] = [];
  for (const pod of pods.slice(0, LIMITS.logPods)) {
    const namespace = pod.metadata?.namespace ?? "default";
    const name = pod.metadata?.name ?? "";
    for (const { name: container } of (pod.spec?.containers ?? []).slice(0, LIMITS.containersPerPod)) {
      const tail: LogTail = { namespace, pod: name, container };
      try {
        tail.log = await deps.core.readNamespacedPodLog({
          name,
          namespace,
          container,
          tailLines: LIMITS.logLines,
          limitBytes: LIMITS.logBytesPerContainer,
        });
      } catch (err) {
        // A container that has not started has no log yet (400): say so and go on.
        tail.error = describeKubeError(err);
      }
      tails.push(tail);
    }
  }
  return tails;
}

/** JSON of the tails, dropping whole tails from the end until it fits the budget. */
function boundedTails(tails: LogTail[]): string {
  let text = JSON.stringify(tails);
  while (tails.length > 0 && Buffer.byteLength(text) > LIMITS.logTailsBudgetBytes) {
    tails.pop();
    text = JSON.stringify(tails);
  }
  return text;
}

/**
 * Pod statuses, events and log tails of a deployment object's resources, within DIAGNOSTIC_LIMITS.
 * A failure is reported in the result (as Brokkr does: the request completes, carrying the
 * error), as a Warning event of reason DiagnosticsCollectionFailed.
 */
export async function collectDiagnostics(deps: CollectDeps, target: DiagnosticTarget): Promise<CollectedDiagnostics> {
  const collectedAt = () => new Date().toISOString();
  try {
    const found = await findResources(deps, target);
    const events = await eventsOf(deps, found);
    const tails = await logTailsOf(deps, found.pods);
    return {
      podStatuses: JSON.stringify(found.pods.map(podStatusJson)),
      events: JSON.stringify(events),
      logTails: boundedTails(tails),
      collectedAt: collectedAt(),
    };
  } catch (err) {
    const failure = { type: "Warning", reason: "DiagnosticsCollectionFailed", message: clip(describeKubeError(err)) };
    return { podStatuses: "[]", events: JSON.stringify([failure]), logTails: "[]", collectedAt: collectedAt() };
  }
}
