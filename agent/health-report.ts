import type { Logger } from "pino";
import type { BrokerTransport, DeploymentHealthEntry } from "./broker/types.ts";
import type { AgentObjectApi } from "./kube/client.ts";
import { type StackHealth, collectStackHealth } from "./kube/stack-health.ts";
import type { AgentMetrics } from "./metrics.ts";

export interface HealthReportDeps {
  objects: AgentObjectApi;
  /** The broker link: health goes through whichever transport is active, with its auth. */
  broker: Pick<BrokerTransport, "reportHealth">;
  metrics: AgentMetrics;
  logger: Logger;
}

/** Checks pod health per stack, updates the metrics, and sends one entry per applied object. */
export async function reportDeploymentHealth(
  deps: HealthReportDeps,
  applied: Map<string, string>,
  checkedAt = new Date(),
): Promise<void> {
  const stacks = await collectStackHealth(deps.objects);
  deps.metrics.unhealthyPods.reset();
  for (const stack of stacks) {
    for (const state of ["degraded", "failing"] as const) {
      deps.metrics.unhealthyPods.set({ stack: stack.stackId, state }, stack.pods.filter((p) => p.state === state).length);
    }
    if (stack.state !== "healthy")
      deps.logger.warn(
        { stackId: stack.stackId, state: stack.state, pods: stack.pods.filter((p) => p.state !== "healthy") },
        "stack unhealthy",
      );
  }
  const entries = deploymentHealthEntries(stacks, applied, checkedAt);
  if (entries.length > 0) await deps.broker.reportHealth(entries);
}

/**
 * One entry per stack with an applied deployment object, keyed by that object's id. A stack
 * without pods is healthy: the agent judges workloads only by their pods.
 */
export function deploymentHealthEntries(
  stacks: StackHealth[],
  applied: Map<string, string>,
  checkedAt: Date,
): DeploymentHealthEntry[] {
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
