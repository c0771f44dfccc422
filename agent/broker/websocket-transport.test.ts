import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Channel } from "../test-support/channel.ts";
import { type FakeBroker, startFakeBroker } from "../test-support/fake-broker.ts";
import type { DeploymentEvent, TransportHandlers } from "./types.ts";
import { WebSocketTransport, WebSocketUnavailableError } from "./websocket-transport.ts";

const PAK = "brokkr_BRabcd1234_0123456789abcdefghijklmnop";
const logger = pino({ level: "silent" });

function event(seq: number, stackId = "stack-a"): DeploymentEvent {
  return {
    type: "DEPLOY",
    stackId,
    deploymentObject: { id: `do-${seq}`, sequenceId: String(seq), yamlContent: "", yamlChecksum: "c", isDeletionMarker: false },
  };
}

function recordingHandlers(initialCursor = "0", handOverGate: Promise<void> = Promise.resolve()) {
  const events = new Channel<DeploymentEvent>();
  const connects = new Channel<number>();
  const handOvers = new Channel<string[]>();
  const order: string[] = [];
  let cursor = initialCursor;
  const handlers: TransportHandlers = {
    cursor: () => cursor,
    onReconnectTargetState: async (targetState) => {
      const ids = targetState.map((e) => e.deploymentObject!.id);
      order.push(`reconcile:${ids.join(",")}`);
      handOvers.push(ids);
      await handOverGate;
      order.push("reconcile done");
    },
    onPolledTargetState: () => {
      throw new Error("the websocket has no poll reconcile");
    },
    onEvent: (e) => {
      cursor = e.deploymentObject?.sequenceId ?? cursor;
      order.push(`event:${e.deploymentObject?.id ?? `untarget ${e.stackId}`}`);
      events.push(e);
    },
    onConnected: () => connects.push(connects.all.length + 1),
    onDisconnected: () => {},
  };
  return { handlers, events, connects, handOvers, order };
}

describe("WebSocketTransport", () => {
  let broker: FakeBroker;
  let stop = new AbortController();
  beforeEach(async () => {
    stop = new AbortController();
    broker = await startFakeBroker({ pak: PAK, agentId: "agent-1" });
  });
  afterEach(async () => {
    stop.abort();
    await broker.stop();
  });

  const transport = (pak = PAK, baseUrl = broker.url) =>
    new WebSocketTransport({ baseUrl, pak, logger, retryBaseMs: 1, retryMaxMs: 5, maxConsecutiveFailures: 3 });

  it("verifies the PAK through the me query", async () => {
    await expect(transport().verify()).resolves.toBe("agent-1");
    await expect(transport("brokkr_BRwrongwro_0123456789abcdefghijklmnop").verify()).rejects.toMatchObject({ status: 401 });
  });

  it("subscribes with the PAK in connection_init and delivers events", async () => {
    const { handlers, events } = recordingHandlers();
    const running = transport().run(handlers, stop.signal);
    expect(await broker.subscriptions.next()).toEqual({ after: "0", authorization: `Bearer ${PAK}` });
    broker.publish(event(1));
    broker.publish(event(2, "stack-b"));
    expect((await events.next()).deploymentObject?.id).toBe("do-1");
    expect((await events.next()).stackId).toBe("stack-b");
    stop.abort();
    await running;
  });

  it("resubscribes after a dropped connection from the cursor it has reached", async () => {
    const { handlers, events, connects } = recordingHandlers("3");
    const running = transport().run(handlers, stop.signal);
    expect((await broker.subscriptions.next()).after).toBe("3");
    broker.publish(event(4));
    expect((await events.next()).deploymentObject?.sequenceId).toBe("4");
    broker.dropConnections();
    expect((await broker.subscriptions.next()).after).toBe("4");
    expect(await connects.find((n) => n === 2)).toBe(2);
    broker.publish(event(5));
    expect((await events.next()).deploymentObject?.sequenceId).toBe("5");
    expect(events.all.map((e) => e.deploymentObject?.sequenceId)).toEqual(["4", "5"]);
    stop.abort();
    await running;
  });

  it("hands over the target state on every (re)connect and holds events until it is reconciled", async () => {
    let open = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { handlers, events, handOvers, order } = recordingHandlers("0", gate);
    broker.publish(event(1));
    broker.publish(event(2, "stack-b"));
    const running = transport().run(handlers, stop.signal);
    expect(await handOvers.next()).toEqual(["do-1", "do-2"]);
    broker.publish(event(3, "stack-c"));
    open();
    await events.find((e) => e.deploymentObject?.id === "do-3");
    expect(order).toEqual(["reconcile:do-1,do-2", "reconcile done", "event:do-1", "event:do-2", "event:do-3"]);
    broker.dropConnections();
    broker.publish({ type: "UNTARGETED", stackId: "stack-b", deploymentObject: null });
    expect(await handOvers.find((ids) => !ids.includes("do-2"))).toEqual(["do-1", "do-3"]);
    stop.abort();
    await running;
  });

  it("reports events and heartbeats through mutations that match the schema, and health over the v1 path", async () => {
    const t = transport();
    const health = {
      id: "do-1",
      status: "failing" as const,
      summary: { pods_total: 1, pods_unhealthy: 1, conditions: ["default/p app: terminated OOMKilled"] },
      checked_at: "2025-01-02T03:04:05.000Z",
    };
    await t.reportEvent({ deploymentObjectId: "do-1", status: "FAILURE", message: "boom", eventType: "APPLY" });
    await t.heartbeat({ k8sReachable: true, k8sApiLatencyMs: 12 });
    await t.reportHealth([health]);
    expect(await broker.reports.next()).toEqual({
      deploymentObjectId: "do-1",
      status: "FAILURE",
      message: "boom",
      eventType: "APPLY",
    });
    expect(await broker.heartbeats.next()).toEqual({ k8sReachable: true, k8sApiLatencyMs: 12 });
    expect(await broker.health.next()).toEqual([health]);
  });

  it("gives up with WebSocketUnavailableError after failing to connect several times in a row", async () => {
    const { handlers } = recordingHandlers();
    await expect(transport("brokkr_BRwrongwro_0123456789abcdefghijklmnop").run(handlers, stop.signal)).rejects.toBeInstanceOf(
      WebSocketUnavailableError,
    );
  });
});
