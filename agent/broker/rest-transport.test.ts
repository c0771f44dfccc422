import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Channel } from "../test-support/channel.ts";
import { type FakeBroker, startFakeBroker } from "../test-support/fake-broker.ts";
import { RestTransport } from "./rest-transport.ts";
import type { DeliveryHandlers, DeploymentEvent } from "./types.ts";

const PAK = "brokkr_BRabcd1234_0123456789abcdefghijklmnop";
const logger = pino({ level: "silent" });

function event(seq: number, stackId = "stack-a"): DeploymentEvent {
  return { type: "DEPLOY", stackId, deploymentObject: { id: `do-${seq}`, sequenceId: String(seq), yamlContent: "x: 1", yamlChecksum: "c", isDeletionMarker: false } };
}

function handlersFor(events: Channel<DeploymentEvent>, resyncs = new Channel<string[]>()): DeliveryHandlers {
  let cursor = "0";
  return {
    cursor: () => cursor,
    resync: async (targetState) => resyncs.push(targetState.map((e) => e.stackId)),
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

  const transport = (b: FakeBroker) => new RestTransport({ baseUrl: b.url, pak: PAK, logger, pollingIntervalMs: 10, longPollWaitSeconds: 1, retryBaseMs: 1 });

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

  it("falls back to polling the target state when the long-poll endpoint answers 404, and detects untargeted stacks", async () => {
    broker = await startFakeBroker({ pak: PAK, agentId: "agent-1", withoutLongPoll: true });
    broker.publish(event(1));
    broker.publish(event(2, "stack-b"));
    const events = new Channel<DeploymentEvent>();
    const running = transport(broker).run(handlersFor(events), stop.signal);
    expect([await events.next(), await events.next()]).toEqual([event(1), event(2, "stack-b")]);
    broker.publish({ type: "UNTARGETED", stackId: "stack-a", deploymentObject: null });
    expect(await events.find((e) => e.type === "UNTARGETED")).toEqual({ type: "UNTARGETED", stackId: "stack-a", deploymentObject: null });
    stop.abort();
    await running;
  });

  it("hands over the full target state before polling, so a restarted agent sees what is targeted now", async () => {
    broker = await startFakeBroker({ pak: PAK, agentId: "agent-1" });
    broker.publish(event(1));
    broker.publish(event(2, "stack-b"));
    broker.publish({ type: "UNTARGETED", stackId: "stack-a", deploymentObject: null });
    const resyncs = new Channel<string[]>();
    const running = transport(broker).run(handlersFor(new Channel<DeploymentEvent>(), resyncs), stop.signal);
    expect(await resyncs.next()).toEqual(["stack-b"]);
    stop.abort();
    await running;
  });

  it("posts events and heartbeats in Brokkr's v1 shapes", async () => {
    broker = await startFakeBroker({ pak: PAK, agentId: "agent-1" });
    const t = transport(broker);
    await t.reportEvent({ deploymentObjectId: "do-9", status: "SUCCESS", message: null, eventType: "APPLY" });
    await t.heartbeat({ k8sReachable: false, k8sApiLatencyMs: null });
    expect(await broker.reports.next()).toEqual({ deploymentObjectId: "do-9", status: "SUCCESS", message: null, eventType: "APPLY" });
    expect(await broker.heartbeats.next()).toEqual({ k8sReachable: false, k8sApiLatencyMs: null });
  });
});
