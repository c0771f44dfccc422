import { type BrokerHttp, brokerRequest } from "./broker/http.ts";
import type { HealthState, StackHealth } from "./kube/stack-health.ts";

export interface DeploymentHealthEntry {
  id: string;
  status: HealthState;
  summary: { pods_total: number; pods_unhealthy: number; conditions: string[] };
  checked_at: string;
}

/**
 * One entry per stack with an applied deployment object, keyed by that object's id. A stack
 * without pods is healthy: the agent judges workloads only by their pods.
 */
export function deploymentHealthEntries(stacks: StackHealth[], applied: Map<string, string>, checkedAt: Date): DeploymentHealthEntry[] {
  const byStack = new Map(stacks.map((s) => [s.stackId, s]));
  return [...applied]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([stackId, objectId]) => {
      const pods = byStack.get(stackId)?.pods ?? [];
      const unhealthy = pods.filter((p) => p.state !== "healthy");
      return {
        id: objectId,
        status: byStack.get(stackId)?.state ?? "healthy",
        summary: {
          pods_total: pods.length,
          pods_unhealthy: unhealthy.length,
          conditions: unhealthy.flatMap((p) => p.reasons.map((r) => `${p.namespace}/${p.name} ${r}`)),
        },
        checked_at: checkedAt.toISOString(),
      };
    });
}

/** Brokkr's v1 `PATCH /agents/{id}/health-status`: the broker keeps the latest per object. */
export async function sendDeploymentHealth(http: BrokerHttp, agentId: string, entries: DeploymentHealthEntry[]): Promise<void> {
  await brokerRequest(http, `/api/v1/agents/${encodeURIComponent(agentId)}/health-status`, {
    method: "PATCH",
    body: JSON.stringify({ deployment_objects: entries }),
  });
}
