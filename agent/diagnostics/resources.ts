import type { CoreApi } from "../kube/client.ts";
import type { KindRef } from "../kube/kinds.ts";
import { type ListDeps, listKind } from "../kube/listing.ts";
import type { V1LabelSelector, V1Pod } from "../kube/objects.ts";
import { type LiveObject, OBJECT_ID_LABEL, STACK_LABEL } from "../kube/ownership.ts";
import { withTransientRetry } from "../kube/retry.ts";
import { DIAGNOSTIC_LIMITS as LIMITS } from "./limits.ts";

/** The kinds whose objects run pods: pods themselves, and the controllers that select them. */
const WORKLOAD_KINDS: KindRef[] = [
  { apiVersion: "v1", kind: "Pod" },
  { apiVersion: "apps/v1", kind: "Deployment" },
  { apiVersion: "apps/v1", kind: "StatefulSet" },
  { apiVersion: "apps/v1", kind: "DaemonSet" },
  { apiVersion: "apps/v1", kind: "ReplicaSet" },
  { apiVersion: "batch/v1", kind: "Job" },
];

export interface DiagnosticTarget {
  stackId: string;
  deploymentObjectId: string;
}

export type Workload = LiveObject & { metadata?: { uid?: string }; spec?: { selector?: V1LabelSelector } };

export interface Found {
  resources: Workload[];
  pods: V1Pod[];
}

/** A label selector as the `labelSelector` query parameter; null for an empty one (it would select every pod). */
export function selectorString(selector: V1LabelSelector | undefined): string | null {
  const terms = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector?.matchExpressions ?? []) {
    const values = (e.values ?? []).join(",");
    if (e.operator === "In") terms.push(`${e.key} in (${values})`);
    else if (e.operator === "NotIn") terms.push(`${e.key} notin (${values})`);
    else if (e.operator === "Exists") terms.push(e.key);
    else if (e.operator === "DoesNotExist") terms.push(`!${e.key}`);
  }
  return terms.length > 0 ? terms.join(",") : null;
}

async function listWorkloads(deps: ListDeps, selector: string): Promise<Workload[]> {
  const found: Workload[] = [];
  for (const ref of WORKLOAD_KINDS) {
    if (found.length >= LIMITS.resources) break;
    await listKind(deps, ref, selector, (items) => void found.push(...items));
  }
  return found.slice(0, LIMITS.resources);
}

/**
 * The workloads the deployment object applied, found by the labels the agent stamps (stack and
 * object id; by the stack alone when a newer object of the stack has replaced them), and their
 * pods: those applied directly, and those each controller's selector picks in its namespace.
 */
export async function findResources(deps: ListDeps & { core: CoreApi }, target: DiagnosticTarget): Promise<Found> {
  const stack = `${STACK_LABEL}=${target.stackId}`;
  let resources = await listWorkloads(deps, `${stack},${OBJECT_ID_LABEL}=${target.deploymentObjectId}`);
  if (resources.length === 0) resources = await listWorkloads(deps, stack);
  const pods = new Map<string, V1Pod>();
  const keep = (pod: V1Pod) => pods.set(`${pod.metadata?.namespace}/${pod.metadata?.name}`, pod);
  for (const r of resources) if (r.kind === "Pod") keep(r as V1Pod);
  for (const r of resources) {
    const selector = r.kind === "Pod" ? null : selectorString(r.spec?.selector);
    const namespace = r.metadata?.namespace;
    if (!selector || !namespace || pods.size >= LIMITS.pods) continue;
    const list = await withTransientRetry(
      () => deps.core.listNamespacedPod({ namespace, labelSelector: selector, limit: LIMITS.pods }),
      deps.retry,
    );
    for (const pod of list.items) keep(pod);
  }
  const sorted = [...pods.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, pod]) => pod);
  return { resources, pods: sorted.slice(0, LIMITS.pods) };
}
