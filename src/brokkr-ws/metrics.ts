import { Counter, Gauge, type Registry } from "prom-client";

/**
 * Brokkr's own names (reference §2.7), so its dashboards keep working: connected agents and
 * messages by direction and type; plus why uplink frames were dropped, which Brokkr only logs.
 */
export function createAgentWsMetrics(registry: Registry, connectedAgents: () => number) {
  new Gauge({
    name: "brokkr_ws_connected_agents",
    help: "Brokkr agents connected to /internal/ws/agent on this broker",
    registers: [registry],
    collect() {
      this.set(connectedAgents());
    },
  });
  const messages = new Counter({
    name: "brokkr_ws_messages_total",
    help: "Frames on /internal/ws/agent by direction and type",
    labelNames: ["direction", "type"],
    registers: [registry],
  });
  const applied = new Counter({
    name: "brokkr_ws_uplink_applied_total",
    help: "Uplink control frames written (heartbeat, agent_event, agent_health)",
    labelNames: ["type"],
    registers: [registry],
  });
  const dropped = new Counter({
    name: "brokkr_ws_uplink_dropped_total",
    help: "Uplink frames dropped, by reason (malformed, agent_mismatch, forbidden, not_found, ...)",
    labelNames: ["reason"],
    registers: [registry],
  });
  return {
    message: (direction: "in" | "out", type: string) => messages.inc({ direction, type }),
    applied: (type: string) => applied.inc({ type }),
    dropped: (reason: string, count = 1) => dropped.inc({ reason }, count),
  };
}

export type AgentWsMetrics = ReturnType<typeof createAgentWsMetrics>;
