import { createClient, type Client } from "graphql-ws";
import { vi } from "vitest";
import WebSocket from "ws";
import type { TestBroker } from "./broker.js";

export interface DeploymentEvent {
  type: "DEPLOY" | "UNTARGETED";
  stackId: string;
  deploymentObject: { id: string; sequenceId: string; isDeletionMarker: boolean; yamlChecksum: string } | null;
}

const AGENT_DEPLOYMENTS = `subscription($after: BigInt, $agentId: ID) {
  agentDeployments(after: $after, agentId: $agentId) {
    type stackId deploymentObject { id sequenceId isDeletionMarker yamlChecksum }
  }
}`;

export interface Watch {
  events: DeploymentEvent[];
  closed: Promise<{ code: number; reason: string } | { error: unknown }>;
  /** Resolves once `predicate` holds over the received events. */
  until(predicate: (events: DeploymentEvent[]) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function wsClient(brokerUrl: string, pak: string | null, opts: { retry?: boolean } = {}): Client {
  return createClient({
    url: `${brokerUrl.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: pak ? { authorization: `Bearer ${pak}` } : {},
    retryAttempts: opts.retry ? 5 : 0,
    lazy: true,
  });
}

/** Subscribes to agentDeployments and collects everything it receives. */
export function watchDeployments(brokerUrl: string, pak: string, after = "0", agentId?: string): Watch {
  const client = wsClient(brokerUrl, pak);
  const events: DeploymentEvent[] = [];
  let settle!: (v: { code: number; reason: string } | { error: unknown }) => void;
  const closed = new Promise<{ code: number; reason: string } | { error: unknown }>((r) => (settle = r));
  client.on("closed", (e) => {
    const ev = e as { code: number; reason: string };
    settle({ code: ev.code, reason: ev.reason });
  });
  const unsubscribe = client.subscribe<{ agentDeployments: DeploymentEvent }>(
    { query: AGENT_DEPLOYMENTS, variables: { after, agentId } },
    {
      next: (r) => {
        if (r.data) events.push(r.data.agentDeployments);
        else settle({ error: r.errors });
      },
      error: (error) => settle({ error }),
      complete: () => {},
    },
  );
  return {
    events,
    closed,
    until: (predicate, timeoutMs = 15_000) =>
      waitUntil(
        () => predicate(events),
        () => `received ${JSON.stringify(events)}`,
        timeoutMs,
      ),
    async stop() {
      unsubscribe();
      await client.dispose();
    },
  };
}

/** The one way tests wait: until `check` holds (it may be async), else fail with `describe()`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  describe: () => string,
  timeoutMs = 15_000,
): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!(await check())) throw new Error(`condition not met: ${describe()}`);
    },
    { timeout: timeoutMs, interval: 20 },
  );
}

/** What the broker has opened, by key: `agentDeployments:<agentId>`, `agentEventsAdded:<agentId or *>`, `longPoll:<agentId>`, `fleetChanges:*`. */
type OpenedKey =
  `${"agentDeployments" | "agentEventsAdded" | "longPoll" | "fleetChanges" | "workOrderChanges" | "diagnosticRequestChanges"}:${string}`;
const openedCounts = new WeakMap<TestBroker, Map<string, number>>();

/**
 * The "subscribed" signal: counts, per key, the streams this in-process broker has opened, so a
 * test waits until its subscription (or long-poll) is registered instead of sleeping. It observes
 * the delivery hub's entry points — an agentDeployments stream counts once `subscribeAgent` has
 * registered it and queued its replay; from then on every commit reaches it live.
 */
function opened(broker: TestBroker): Map<string, number> {
  let counts = openedCounts.get(broker);
  if (counts) return counts;
  const seen = new Map<string, number>();
  const bump = (key: OpenedKey) => seen.set(key, (seen.get(key) ?? 0) + 1);
  const hub = broker.app.delivery;
  const subscribeAgent = hub.subscribeAgent.bind(hub);
  hub.subscribeAgent = async (agentId, ...rest) => {
    const sub = await subscribeAgent(agentId, ...rest);
    bump(`agentDeployments:${agentId}`);
    return sub;
  };
  const listen = hub.agentEvents.listen.bind(hub.agentEvents);
  hub.agentEvents.listen = (agentId, fn, ...rest) => {
    const off = listen(agentId, fn, ...rest);
    bump(`agentEventsAdded:${agentId ?? "*"}`);
    return off;
  };
  const waitForChange = hub.waitForChange.bind(hub);
  hub.waitForChange = (agentId, ...rest) => {
    const waiting = waitForChange(agentId, ...rest);
    bump(`longPoll:${agentId}`);
    return waiting;
  };
  const fleet = hub.fleet;
  if (fleet) {
    const listenFleet = fleet.listen.bind(fleet);
    fleet.listen = (fn) => {
      const off = listenFleet(fn);
      bump("fleetChanges:*");
      return off;
    };
  }
  for (const [key, feed] of [
    ["workOrderChanges:*", broker.app.workOrders.changes],
    ["diagnosticRequestChanges:*", broker.app.diagnostics.changes],
  ] as const) {
    const subscribe = feed.subscribe.bind(feed);
    feed.subscribe = (guard) => {
      const stream = subscribe(guard);
      bump(key);
      return stream as never;
    };
  }
  counts = seen;
  openedCounts.set(broker, counts);
  return counts;
}

/** Resolves when `broker` next opens `key`. Take it before subscribing, await it after (see watchLive). */
export function nextOpened(broker: TestBroker, key: OpenedKey, timeoutMs = 15_000): Promise<void> {
  const counts = opened(broker);
  const before = counts.get(key) ?? 0;
  return waitUntil(
    () => (counts.get(key) ?? 0) > before,
    () => `${key} was not opened`,
    timeoutMs,
  );
}

/** watchDeployments for the agent itself, resolved once the broker has opened its stream. */
export async function watchLive(broker: TestBroker, agent: { id: string; pak: string }, after = "0"): Promise<Watch> {
  const subscribed = nextOpened(broker, `agentDeployments:${agent.id}`);
  const watch = watchDeployments(broker.url, agent.pak, after);
  await subscribed;
  return watch;
}

/** `brokkr_deliveries_total` from GET /metrics: objects the broker has handed to any agent's stream. */
export async function deliveriesSent(broker: TestBroker): Promise<number> {
  const text = await (await fetch(`${broker.url}/metrics`)).text();
  const line = /^brokkr_deliveries_total (\d+)/m.exec(text);
  if (!line?.[1]) throw new Error("brokkr_deliveries_total is missing from /metrics");
  return Number(line[1]);
}

/** Resolves once this broker has dispatched every object up to `sequenceId` to its subscriptions. */
export function dispatched(broker: TestBroker, sequenceId: string): Promise<void> {
  return waitUntil(
    () => broker.app.delivery.horizon >= BigInt(sequenceId),
    () => `horizon ${broker.app.delivery.horizon} < ${sequenceId}`,
  );
}
