import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Channel } from "../test-support/channel.ts";
import { type FakeBroker, startFakeBroker } from "../test-support/fake-broker.ts";
import { RestTransport } from "./rest-transport.ts";
import type { DeploymentEvent, TransportHandlers } from "./types.ts";

const PAK = "brokkr_BRabcd1234_0123456789abcdefghijklmnop";
const logger = pino({ level: "silent" });
const HEALTH_ENTRY = {
  id: "do-9",
  status: "healthy" as const,
  summary: { pods_total: 0, pods_unhealthy: 0, conditions: [] },
  checked_at: "2025-01-02T03:04:05.000Z",
};

function event(seq: number, stackId = "stack-a"): DeploymentEvent {
  return {
    type: "DEPLOY",
    stackId,
    deploymentObject: {
      id: `do-${seq}`,
      sequenceId: String(seq),
      yamlContent: "x: 1",
      yamlChecksum: "c",
      isDeletionMarker: false,
    },
  };
}

/** Records what the transport hands over; target states as their stack ids. */
function handlersFor(
  events: Channel<DeploymentEvent>,
  reconnects = new Channel<string[]>(),
  polls = new Channel<string[]>(),
): TransportHandlers {
  let cursor = "0";
  return {
    cursor: () => cursor,
    onReconnectTargetState: async (targetState) => reconnects.push(targetState.map((e) => e.stackId)),
    onPolledTargetState: (targetState) => polls.push(targetState.map((e) => e.stackId)),
    onEvent: (e) => {
      if (e.deploymentObject) cursor = e.deploymentObject.sequenceId;
      events.push(e);
    },
    onConnected: () => {},
    onDisconnected: () => {},
  };
}

describe("RestTransport", () => {
  let broker: FakeBroker | undefined;
  let stop = new AbortController();
  beforeEach(() => {
    stop = new AbortController();
  });
  afterEach(async () => {
    stop.abort();
    await broker?.stop();
  });

  const transport = (b: FakeBroker) =>
    new RestTransport({ baseUrl: b.url, pak: PAK, logger, pollingIntervalMs: 10, longPollWaitSeconds: 1, retryBaseMs: 1 });

  it("long-polls deployments in snake_case and maps them to events", async () => {
    broker = await startFakeBroker({ pak: PAK, agentId: "agent-1" });
    broker.publish(event(1));
    const events = new Channel<DeploymentEvent>();
    const t = transport(broker);
    expect(await t.verify()).toBe("agent-1");
    const running = t.run(handlersFor(events), stop.signal);
    expect(await events.next()).toEqual(event(1));
    broker.publish(event(2, "stack-b"));
    expect(await events.next()).toEqual(event(2, "stack-b"));
    stop.abort();
    await running;
  });

  it("falls back to polling the target state when the long-poll endpoint answers 404, and hands each poll to the poll reconcile", async () => {
    broker = await startFakeBroker({ pak: PAK, agentId: "agent-1", withoutLongPoll: true });
    broker.publish(event(1));
    broker.publish(event(2, "stack-b"));
    const polls = new Channel<string[]>();
    const running = transport(broker).run(
      handlersFor(new Channel<DeploymentEvent>(), new Channel<string[]>(), polls),
      stop.signal,
    );
    expect(await polls.next()).toEqual(["stack-a", "stack-b"]);
    broker.publish({ type: "UNTARGETED", stackId: "stack-a", deploymentObject: null });
    expect(await polls.find((ids) => !ids.includes("stack-a"))).toEqual(["stack-b"]);
    stop.abort();
    await running;
  });

  it("hands a fresh target state to the poll reconcile when the long-poll's associated stacks change", async () => {
    broker = await startFakeBroker({ pak: PAK, agentId: "agent-1" });
    broker.publish(event(1));
    broker.publish(event(2, "stack-b"));
    const events = new Channel<DeploymentEvent>();
    const polls = new Channel<string[]>();
    const running = transport(broker).run(handlersFor(events, new Channel<string[]>(), polls), stop.signal);
    await events.find((e) => e.stackId === "stack-b");
    broker.publish({ type: "UNTARGETED", stackId: "stack-a", deploymentObject: null });
    expect(await polls.next()).toEqual(["stack-b"]);
    expect(events.all.filter((e) => e.type === "UNTARGETED")).toEqual([]);
    stop.abort();
    await running;
  });

  it("hands over the full target state before polling, so a restarted agent sees what is targeted now", async () => {
    broker = await startFakeBroker({ pak: PAK, agentId: "agent-1" });
    broker.publish(event(1));
    broker.publish(event(2, "stack-b"));
    broker.publish({ type: "UNTARGETED", stackId: "stack-a", deploymentObject: null });
    const reconnects = new Channel<string[]>();
    const running = transport(broker).run(handlersFor(new Channel<DeploymentEvent>(), reconnects), stop.signal);
    expect(await reconnects.next()).toEqual(["stack-b"]);
    stop.abort();
    await running;
  });

  it("posts events, heartbeats and deployment health in Brokkr's v1 shapes", async () => {
    broker = await startFakeBroker({ pak: PAK, agentId: "agent-1" });
    const t = transport(broker);
    await t.reportEvent({ deploymentObjectId: "do-9", status: "SUCCESS", message: null, eventType: "APPLY" });
    await t.heartbeat({ k8sReachable: false, k8sApiLatencyMs: null });
    await t.reportHealth([HEALTH_ENTRY]);
    expect(await broker.reports.next()).toEqual({
      deploymentObjectId: "do-9",
      status: "SUCCESS",
      message: null,
      eventType: "APPLY",
    });
    expect(await broker.heartbeats.next()).toEqual({ k8sReachable: false, k8sApiLatencyMs: null });
    expect(await broker.health.next()).toEqual([HEALTH_ENTRY]);
  });
});
