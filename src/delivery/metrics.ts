import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { DeploymentObjectRow } from "../deployment-objects/store.js";

/**
 * How often the event-loop lag metric samples. prom-client's default, 10 ms, wakes an idle
 * broker 100 times a second: 11 ms of CPU per second with nothing to do (strace: 200
 * epoll_pwait/s), paid again during every fan-out. At 100 ms a stall still shows once it is
 * longer than that.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/** Prometheus metrics of one broker (a registry per app, so tests can run several). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const subscriptions = new Gauge({
    name: "brokkr_active_subscriptions",
    help: "Open agentDeployments subscriptions",
    registers: [registry],
  });
  const agents = new Gauge({
    name: "brokkr_connected_agents",
    help: "Agents with at least one open subscription",
    registers: [registry],
  });
  const deliveries = new Counter({
    name: "brokkr_deliveries_total",
    help: "Deployment objects sent to agents",
    registers: [registry],
  });
  const latency = new Histogram({
    name: "brokkr_commit_to_send_seconds",
    help: "Time from a deployment object's insert to its send to a subscription",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const listenerReconnects = new Counter({
    name: "brokkr_listener_reconnects_total",
    help: "Reconnects of the LISTEN connection",
    registers: [registry],
  });
  const slowConsumers = new Counter({
    name: "brokkr_slow_consumer_disconnects_total",
    help: "Subscriptions closed for not reading",
    registers: [registry],
  });
  let countSockets = () => 0;
  new Gauge({
    name: "brokkr_graphql_ws_sockets",
    help: "Open /graphql websockets, authenticated or not",
    registers: [registry],
    collect() {
      this.set(countSockets());
    },
  });
  return {
    registry,
    /** Set once by the app: counts the /graphql websocket server's open sockets when scraped. */
    countGraphqlSockets(count: () => number) {
      countSockets = count;
    },
    listenerReconnects,
    slowConsumers,
    agents,
    subscriptionOpened: () => subscriptions.inc(),
    subscriptionClosed: () => subscriptions.dec(),
    delivered(object: DeploymentObjectRow) {
      deliveries.inc();
      latency.observe(Math.max(0, Date.now() - object.createdAt.getTime()) / 1000);
    },
  };
}

export type DeliveryMetrics = ReturnType<typeof createMetrics>;
