import { beforeAll, describe, expect, it } from "vitest";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator } from "../../test/factories.js";
import { waitUntil, wsClient } from "../../test/subscriptions.js";
import { createUser } from "../../test/users.js";
import { claim, complete, createWorkOrder } from "../../test/work-orders.js";

let broker: TestBroker;
let other: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker();
  other = await startTestBroker({}, broker.db);
});

interface Change {
  kind: "QUEUED" | "FINISHED" | "REMOVED" | "RESYNC";
  workOrderId: string | null;
  workOrder: { id: string; status: string; claimedBy: string | null } | null;
  logEntry: { id: string; success: boolean; resultMessage: string | null } | null;
}

const CHANGES = `subscription { workOrderChanges { kind workOrderId workOrder { id status claimedBy }
  logEntry { id success resultMessage } } }`;

/** workOrderChanges as `pak` on `on` (a real graphql-ws client), resolved once the broker opened it or refused it. */
async function watch(on: TestBroker, pak: string) {
  const changes: Change[] = [];
  const errors: unknown[] = [];
  const client = wsClient(on.url, pak);
  const before = on.app.workOrders.changes.opened;
  client.subscribe<{ workOrderChanges: Change }>(
    { query: CHANGES },
    {
      next: (r) => (r.data ? changes.push(r.data.workOrderChanges) : errors.push(r.errors)),
      error: (e) => errors.push(e),
      complete: () => {},
    },
  );
  await waitUntil(
    () => on.app.workOrders.changes.opened > before || errors.length > 0,
    () => "workOrderChanges was neither opened nor refused",
  );
  const until = async (check: (c: Change) => boolean) => {
    await waitUntil(
      () => changes.some(check),
      () => JSON.stringify({ changes, errors }),
    );
    return changes.find(check) as Change;
  };
  return { changes, errors, until, stop: () => client.dispose() };
}

describe("workOrderChanges", () => {
  it("tells a viewer of every step of an order made and run through another broker", async () => {
    const viewer = await createUser(broker, "VIEWER");
    const w = await watch(broker, viewer.pak);
    expect(w.errors).toEqual([]);
    const agent = await createAgent(other, { activate: true });
    const order = await createWorkOrder(other, { targeting: { agentIds: [agent.id] } });
    const of = (kind: Change["kind"], status?: string) => (c: Change) =>
      c.workOrderId === order.id && c.kind === kind && (!status || c.workOrder?.status === status);
    expect((await w.until(of("QUEUED", "PENDING"))).workOrder?.claimedBy).toBeNull();
    ok(await claim(other, agent.pak, order.id));
    expect((await w.until(of("QUEUED", "CLAIMED"))).workOrder?.claimedBy).toBe(agent.id);
    ok(await complete(other, agent.pak, { id: order.id, success: true, message: "done" }));
    expect((await w.until(of("FINISHED"))).logEntry).toEqual({ id: order.id, success: true, resultMessage: "done" });
    await w.stop();
  });

  it("tells of a retry scheduled and of a deleted order", async () => {
    const w = await watch(broker, broker.adminPak);
    const agent = await createAgent(broker, { activate: true });
    const retried = await createWorkOrder(broker, { maxRetries: 2, targeting: { agentIds: [agent.id] } });
    const doomed = await createWorkOrder(broker, { targeting: { agentIds: [agent.id] } });
    ok(await claim(broker, agent.pak, retried.id));
    ok(await complete(broker, agent.pak, { id: retried.id, success: false, message: "flaky" }));
    await w.until((c) => c.workOrderId === retried.id && c.workOrder?.status === "RETRY_PENDING");
    ok(await broker.gql(`mutation($id: ID!) { deleteWorkOrder(input: { id: $id }) { deletedId } }`, { id: doomed.id }));
    const removed = await w.until((c) => c.workOrderId === doomed.id && c.kind === "REMOVED");
    expect(removed).toMatchObject({ workOrder: null, logEntry: null });
    await w.stop();
  });

  it("tells nothing of an update that changes no status: a later change arrives without it", async () => {
    const w = await watch(broker, broker.adminPak);
    const quiet = await createWorkOrder(broker, { targeting: { labels: ["quiet"] } });
    await w.until((c) => c.workOrderId === quiet.id);
    const seen = w.changes.length;
    await broker.db.sql.query("UPDATE work_orders SET yaml_content = 'y: 2' WHERE id = $1", [quiet.id]);
    const sentinel = await createWorkOrder(broker, { targeting: { labels: ["quiet"] } });
    await w.until((c) => c.workOrderId === sentinel.id);
    expect(w.changes.slice(seen).filter((c) => c.workOrderId === quiet.id)).toEqual([]);
    await w.stop();
  });

  it("says RESYNC when one statement changes more orders than a notification can list", async () => {
    const w = await watch(broker, broker.adminPak);
    await broker.db.sql.query(
      "INSERT INTO work_orders (work_type, yaml_content) SELECT 'custom', 'x' FROM generate_series(1, 201)",
    );
    expect(await w.until((c) => c.kind === "RESYNC")).toEqual({
      kind: "RESYNC",
      workOrderId: null,
      workOrder: null,
      logEntry: null,
    });
    await w.stop();
  });

  it("says RESYNC after the broker's LISTEN connection came back (what it missed is gone)", async () => {
    const w = await watch(other, other.adminPak);
    const before = other.app.listener.reconnects;
    await broker.db.sql.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'brokkr-listener' AND datname = current_database()",
    );
    await w.until((c) => c.kind === "RESYNC");
    expect(other.app.listener.reconnects).toBeGreaterThan(before);
    await w.stop();
  });

  it("refuses agents and generators before opening a stream", async () => {
    const agent = await createAgent(broker, { activate: true });
    const gen = await createGenerator(broker);
    for (const pak of [agent.pak, gen.pak]) {
      const before = broker.app.workOrders.changes.opened;
      const w = await watch(broker, pak);
      expect((w.errors.flat() as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe("FORBIDDEN");
      expect(broker.app.workOrders.changes.opened).toBe(before);
      await w.stop();
    }
  });
});
