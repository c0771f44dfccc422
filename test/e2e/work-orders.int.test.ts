import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { WorkOrderResult } from "../../agent/work-orders/executor.js";
import { WorkOrderWorker } from "../../agent/work-orders/worker.js";
import { createAgent } from "../factories.js";
import { waitUntil } from "../subscriptions.js";
import { createWorkOrder } from "../work-orders.js";
import { agentWorld } from "../agent-world.js";

/*
 * Work orders end to end: a real broker, the real agent and the fake Kubernetes API. The agent
 * learns of orders by its agentWorkOrders subscription (websocket transport) or by polling
 * (REST transport), claims them, runs them and reports; the broker's log says what happened.
 */
const { broker, kube, launch: launchAgent } = await agentWorld();

// The REST agent's poll of pending work orders is short, so the test need not wait 10 s.
const launch = (pak: string, transport: "websocket" | "rest") =>
  launchAgent(pak, { TRANSPORT: transport, POLLING_INTERVAL: "0.2" });

const configMap = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\ndata:\n  v: "${value}"\n`;
const live = (name: string) => kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name });

async function logEntry(id: string) {
  const { rows } = await broker.db.sql.query(
    "SELECT success, retries_attempted, result_message, claimed_by FROM work_order_log WHERE id = $1",
    [id],
  );
  return rows[0] as { success: boolean; retries_attempted: number; result_message: string; claimed_by: string } | undefined;
}
const logged = async (id: string) => {
  await waitUntil(
    async () => (await logEntry(id)) !== undefined,
    () => `work order ${id} was not completed`,
    20_000,
  );
  return logEntry(id);
};

describe.each(["websocket", "rest"] as const)("the agent over %s", (transport) => {
  it("runs an apply work order, then a delete of the same object, and reports both", async () => {
    const agent = await createAgent(broker, { activate: true });
    await launch(agent.pak, transport);
    const name = `wo-${transport}`;
    const apply = await createWorkOrder(broker, {
      workType: "apply",
      yamlContent: configMap(name, "1"),
      targeting: { agentIds: [agent.id] },
    });
    expect(await logged(apply.id)).toMatchObject({ success: true, result_message: "applied 1", claimed_by: agent.id });
    expect(live(name)?.data?.v).toBe("1");
    expect(live(name)?.metadata.annotations).toMatchObject({
      "brokkr.io/owner-id": agent.id,
      "brokkr.io/work-order-id": apply.id,
    });
    // Server-side apply with the deployments' field manager; no stack label, so no stack prunes it.
    expect(live(name)?.metadata.labels?.["k8s.brokkr.io/stack"]).toBeUndefined();
    const del = await createWorkOrder(broker, {
      workType: "delete",
      yamlContent: configMap(name, "1"),
      targeting: { agentIds: [agent.id] },
    });
    expect(await logged(del.id)).toMatchObject({ success: true, result_message: "deleted 1 of 1" });
    expect(live(name)).toBeUndefined();
  });
});

describe("what the agent refuses", () => {
  it("reports an unknown work type and a payload the cluster rejects as failures, without retries", async () => {
    const agent = await createAgent(broker, { activate: true, labels: ["wo-e2e"] });
    await launch(agent.pak, "websocket");
    const unknown = await createWorkOrder(broker, { workType: "build", targeting: { labels: ["wo-e2e"] } });
    expect(await logged(unknown.id)).toMatchObject({ success: false, retries_attempted: 0 });
    expect((await logEntry(unknown.id))?.result_message).toMatch(/unknown work type 'build'/);
    const notServed = await createWorkOrder(broker, {
      workType: "apply",
      yamlContent: "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
      targeting: { labels: ["wo-e2e"] },
    });
    expect(await logged(notServed.id)).toMatchObject({ success: false, retries_attempted: 0 });
  });

  it("applies a custom work order as-is and reports it once applied", async () => {
    const agent = await createAgent(broker, { activate: true });
    await launch(agent.pak, "websocket");
    const order = await createWorkOrder(broker, {
      workType: "custom",
      yamlContent: configMap("wo-custom", "c"),
      targeting: { agentIds: [agent.id] },
    });
    expect(await logged(order.id)).toMatchObject({ success: true });
    expect(live("wo-custom")?.data?.v).toBe("c");
    expect(live("wo-custom")?.metadata.annotations?.["brokkr.io/work-order-id"]).toBeUndefined();
  });

  it("leaves work for another agent alone", async () => {
    const agent = await createAgent(broker, { activate: true });
    const other = await createAgent(broker, { activate: true });
    await launch(agent.pak, "websocket");
    const notMine = await createWorkOrder(broker, {
      yamlContent: configMap("wo-not-mine", "x"),
      targeting: { agentIds: [other.id] },
    });
    // The sentinel: the agent runs orders one at a time in the order it hears of them.
    const mine = await createWorkOrder(broker, { yamlContent: configMap("wo-mine", "y"), targeting: { agentIds: [agent.id] } });
    await logged(mine.id);
    expect(await logEntry(notMine.id)).toBeUndefined();
    expect(live("wo-not-mine")).toBeUndefined();
  });
});

describe("the agent's work-order worker against the real broker", () => {
  const worker = (agent: { id: string; pak: string }, run: (id: string) => Promise<WorkOrderResult>) =>
    new WorkOrderWorker({
      baseUrl: broker.url,
      pak: agent.pak,
      agentId: agent.id,
      executor: { run: (task) => run(task.id) },
      logger: pino({ level: "silent" }),
      pollingIntervalMs: 50,
      push: true,
      retryBaseMs: 10,
    });

  it("runs an order once however often it is announced (push, polls and offers)", async () => {
    const agent = await createAgent(broker, { activate: true });
    const runs: string[] = [];
    const w = worker(agent, async (id) => {
      runs.push(id);
      return { success: true, message: "done", retryable: false };
    });
    const stop = new AbortController();
    const loop = w.run(stop.signal);
    const order = await createWorkOrder(broker, { targeting: { agentIds: [agent.id] } });
    for (let i = 0; i < 5; i++) w.offer(order.id);
    await logged(order.id);
    // A second order is the sentinel: once it ran, every announcement of the first was handled.
    const next = await createWorkOrder(broker, { targeting: { agentIds: [agent.id] } });
    w.offer(order.id);
    await logged(next.id);
    stop.abort();
    await loop;
    expect(runs).toEqual([order.id, next.id]);
  });

  it("drops a report the broker refuses because the claim timed out, and runs the requeued order on its new claim", async () => {
    const agent = await createAgent(broker, { activate: true });
    let release!: () => void;
    const firstRunHeld = new Promise<void>((resolve) => (release = resolve));
    const runs: string[] = [];
    const w = worker(agent, async (id) => {
      runs.push(id);
      if (runs.length === 1) await firstRunHeld;
      return { success: true, message: `run ${runs.length}`, retryable: false };
    });
    const stop = new AbortController();
    const loop = w.run(stop.signal);
    const order = await createWorkOrder(broker, { targeting: { agentIds: [agent.id] } });
    await waitUntil(
      () => runs.length === 1,
      () => "the first run did not start",
    );
    await broker.db.sql.query("UPDATE work_orders SET claimed_at = now() - interval '2 hours' WHERE id = $1", [order.id]);
    await broker.app.scheduler.runNow("work-order-maintenance");
    release();
    expect(await logged(order.id)).toMatchObject({ success: true, result_message: "run 2" });
    stop.abort();
    await loop;
    expect(runs).toEqual([order.id, order.id]);
  });
});
