import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface AgentMetrics {
  registry: Registry;
  applies: Counter;
  applyFailures: Counter;
  deliveries: Counter;
  reconnects: Counter;
  applyDuration: Histogram;
  unhealthyPods: Gauge<"stack" | "state">;
}

/** One registry per agent instance, so several agents can run in one test process. */
export function createAgentMetrics(options: { defaultMetrics?: boolean } = {}): AgentMetrics {
  const registry = new Registry();
  // prom-client's default 10 ms lag sampling wakes an idle agent 100 times a second (as the broker's metrics.ts notes).
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  const registers = [registry];
  return {
    registry,
    applies: new Counter({ name: "brokkr_agent_applies_total", help: "Deployment objects applied successfully", registers }),
    applyFailures: new Counter({
      name: "brokkr_agent_apply_failures_total",
      help: "Failed attempts to apply a deployment object",
      registers,
    }),
    deliveries: new Counter({
      name: "brokkr_agent_deliveries_received_total",
      help: "Deployment events received from the broker",
      registers,
    }),
    reconnects: new Counter({
      name: "brokkr_agent_reconnects_total",
      help: "Connections to the broker lost and re-established",
      registers,
    }),
    applyDuration: new Histogram({
      name: "brokkr_agent_apply_duration_seconds",
      help: "Time to apply one deployment object",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    unhealthyPods: new Gauge({
      name: "brokkr_agent_unhealthy_pods",
      help: "Pods of a stack in a degraded or failing state",
      labelNames: ["stack", "state"],
      registers,
    }),
  };
}
