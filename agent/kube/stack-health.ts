import type { AgentObjectApi } from "./client.ts";
import type { V1ContainerStatus, V1Pod } from "./objects.ts";
import { STACK_LABEL } from "./ownership.ts";
import { type RetryOptions, DEFAULT_RETRY, withTransientRetry } from "./retry.ts";

export type HealthState = "healthy" | "degraded" | "failing";

export interface PodHealth {
  namespace: string;
  name: string;
  state: HealthState;
  reasons: string[];
}

export interface StackHealth {
  stackId: string;
  state: HealthState;
  pods: PodHealth[];
}

const DEGRADED_WAITING = new Set(["ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff", "CreateContainerConfigError"]);
const FAILING_TERMINATED = new Set(["OOMKilled", "Error"]);
const RANK: Record<HealthState, number> = { healthy: 0, degraded: 1, failing: 2 };

function worst(states: HealthState[]): HealthState {
  return states.reduce<HealthState>((a, b) => (RANK[b] > RANK[a] ? b : a), "healthy");
}

function containerFindings(status: V1ContainerStatus): Array<{ state: HealthState; reason: string }> {
  const findings: Array<{ state: HealthState; reason: string }> = [];
  const waiting = status.state?.waiting?.reason;
  if (waiting && DEGRADED_WAITING.has(waiting)) findings.push({ state: "degraded", reason: `${status.name}: ${waiting}` });
  for (const terminated of [status.state?.terminated, status.lastState?.terminated]) {
    if (terminated?.reason && FAILING_TERMINATED.has(terminated.reason)) {
      findings.push({ state: "failing", reason: `${status.name}: terminated ${terminated.reason}` });
    }
  }
  return findings;
}

/** Degraded: image pull, crash loop or config errors; failing: a container OOMKilled or terminated in Error. */
export function classifyPod(pod: V1Pod): PodHealth {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const findings = statuses.flatMap(containerFindings);
  return {
    namespace: pod.metadata?.namespace ?? "",
    name: pod.metadata?.name ?? "",
    state: worst(findings.map((f) => f.state)),
    reasons: [...new Set(findings.map((f) => f.reason))],
  };
}

/** Health of every stack with pods in the cluster, by the pods carrying the stack label. */
export async function collectStackHealth(objects: AgentObjectApi, retry: RetryOptions = DEFAULT_RETRY): Promise<StackHealth[]> {
  const list = await withTransientRetry(
    () => objects.list<V1Pod>("v1", "Pod", undefined, undefined, undefined, undefined, undefined, STACK_LABEL),
    retry,
  );
  const byStack = new Map<string, PodHealth[]>();
  for (const pod of list.items) {
    const stackId = pod.metadata?.labels?.[STACK_LABEL];
    if (!stackId) continue;
    byStack.set(stackId, [...(byStack.get(stackId) ?? []), classifyPod(pod)]);
  }
  return [...byStack]
    .map(([stackId, pods]) => ({ stackId, state: worst(pods.map((p) => p.state)), pods }))
    .sort((a, b) => a.stackId.localeCompare(b.stackId));
}
