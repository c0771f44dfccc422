import { beforeAll, describe, expect, it } from "vitest";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator } from "../../test/factories.js";
import { waitUntil, wsClient } from "../../test/subscriptions.js";
import { claim, createWorkOrder } from "../../test/work-orders.js";
import { WORK_ORDER_MAINTENANCE } from "./tasks.js";

let broker: TestBroker;

interface PushEvent {
  reason: "REPLAY" | "CREATED" | "RETRY_DUE" | "REQUEUED";
  workOrder: { id: string; status: string };
}

const SUBSCRIPTION = "subscription($a: ID) { agentWorkOrders(agentId: $a) { reason workOrder { id status } } }";

/** Subscribes as `pak` and collects events; resolves once the broker has opened the stream. */
async function watch(pak: string, agentId: string, asAgentId?: string) {
  const client = wsClient(broker.url, pak);
  const events: PushEvent[] = [];
  const errors: unknown[] = [];
  const before = broker.app.workOrders.subscriberCount(agentId);
  client.subscribe<{ agentWorkOrders: PushEvent }>(
    { query: SUBSCRIPTION, variables: { a: asAgentId } },
    {
      next: (r) => (r.data ? events.push(r.data.agentWorkOrders) : errors.push(r.errors)),
      error: (e) => errors.push(e),
      complete: () => {},
    },
  );
  const until = (check: (e: PushEvent[]) => boolean) =>
    waitUntil(
      () => check(events),
      () => JSON.stringify({ events, errors }),
    );
  const opened = () =>
    waitUntil(
      () => broker.app.workOrders.subscriberCount(agentId) > before || errors.length > 0,
      () => "agentWorkOrders was not opened",
    );
  return { events, errors, until, opened, stop: () => client.dispose() };
}

const has = (id: string, reason: PushEvent["reason"]) => (events: PushEvent[]) =>
  events.some((e) => e.workOrder.id === id && e.reason === reason);

beforeAll(async () => {
  broker = await startTestBroker();
});

describe("agentWorkOrders", () => {
  it("replays pending orders on subscribe, then pushes new ones targeted by id, label or annotation", async () => {
    const agent = await createAgent(broker, { activate: true, labels: ["push"], annotations: [{ key: "rack", value: "r1" }] });
    const waiting = await createWorkOrder(broker, { targeting: { agentIds: [agent.id] } });
    const w = await watch(agent.pak, agent.id);
    await w.opened();
    await w.until(has(waiting.id, "REPLAY"));
    const byLabel = await createWorkOrder(broker, { targeting: { labels: ["push"] } });
    const byNote = await createWorkOrder(broker, { targeting: { annotations: [{ key: "rack", value: "r1" }] } });
    await w.until((e) => has(byLabel.id, "CREATED")(e) && has(byNote.id, "CREATED")(e));
    await w.stop();
  });

  it("pushes an order whose claim timed out as REQUEUED and one whose retry is due as RETRY_DUE", async () => {
    const agent = await createAgent(broker, { activate: true });
    const stale = await createWorkOrder(broker, { targeting: { agentIds: [agent.id] } });
    const retried = await createWorkOrder(broker, { targeting: { agentIds: [agent.id] } });
    ok(await claim(broker, agent.pak, stale.id));
    ok(await claim(broker, agent.pak, retried.id));
    ok(
      await broker.gql(
        "mutation($id: ID!) { completeWorkOrder(input: { id: $id, success: false }) { outcome } }",
        { id: retried.id },
        agent.pak,
      ),
    );
    await broker.db.sql.query("UPDATE work_orders SET claimed_at = now() - interval '2 hours' WHERE id = $1", [stale.id]);
    await broker.db.sql.query("UPDATE work_orders SET next_retry_after = now() - interval '1 second' WHERE id = $1", [
      retried.id,
    ]);
    const w = await watch(agent.pak, agent.id);
    await w.opened();
    await broker.app.scheduler.runNow(WORK_ORDER_MAINTENANCE);
    await w.until((e) => has(stale.id, "REQUEUED")(e) && has(retried.id, "RETRY_DUE")(e));
    await w.stop();
  });

  it("pushes nothing to an agent the order is not targeted at, nor to an inactive one", async () => {
    const bystander = await createAgent(broker, { activate: true, labels: ["quiet"] });
    const idle = await createAgent(broker, { labels: ["quiet"] });
    const b = await watch(bystander.pak, bystander.id);
    const i = await watch(idle.pak, idle.id);
    await Promise.all([b.opened(), i.opened()]);
    const elsewhere = await createWorkOrder(broker, { targeting: { labels: ["loud"] } });
    const idleOnly = await createWorkOrder(broker, { targeting: { agentIds: [idle.id] } });
    // The sentinel: targeted at both, so it arrives after anything sent for the orders above.
    const sentinel = await createWorkOrder(broker, { targeting: { labels: ["quiet"] } });
    await b.until(has(sentinel.id, "CREATED"));
    expect(b.events.map((e) => e.workOrder.id)).toEqual([sentinel.id]);
    expect(i.events).toEqual([]);
    expect([elsewhere.id, idleOnly.id]).not.toContain(b.events[0]?.workOrder.id);
    await Promise.all([b.stop(), i.stop()]);
  });

  it("replays an agent's pending orders when it gains a matching label", async () => {
    const agent = await createAgent(broker, { activate: true });
    const order = await createWorkOrder(broker, { targeting: { labels: ["late"] } });
    const w = await watch(agent.pak, agent.id);
    await w.opened();
    ok(
      await broker.gql('mutation($a: ID!) { addAgentLabel(input: { agentId: $a, label: "late" }) { agent { id } } }', {
        a: agent.id,
      }),
    );
    await w.until(has(order.id, "REPLAY"));
    await w.stop();
  });

  it("lets the admin watch a named agent and refuses other agents and generators", async () => {
    const agent = await createAgent(broker, { activate: true });
    const other = await createAgent(broker, { activate: true });
    const admin = await watch(broker.adminPak, agent.id, agent.id);
    await admin.opened();
    const order = await createWorkOrder(broker, { targeting: { agentIds: [agent.id] } });
    await admin.until(has(order.id, "CREATED"));
    const intruder = await watch(other.pak, agent.id, agent.id);
    await waitUntil(
      () => intruder.errors.length > 0,
      () => "the other agent was not refused",
    );
    const gen = await createGenerator(broker);
    const byGenerator = await watch(gen.pak, agent.id, agent.id);
    await waitUntil(
      () => byGenerator.errors.length > 0,
      () => "the generator was not refused",
    );
    const codes = [intruder, byGenerator].map((w) => (w.errors[0] as { extensions?: { code?: string } }[])[0]?.extensions?.code);
    expect(codes).toEqual(["FORBIDDEN", "FORBIDDEN"]);
    await Promise.all([admin.stop(), intruder.stop(), byGenerator.stop()]);
  });
});
