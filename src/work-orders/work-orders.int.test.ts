import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, unique } from "../../test/factories.js";
import {
  claim,
  complete,
  createWorkOrder,
  tryCreateWorkOrder,
  workOrderStatus,
  WORK_ORDER_FIELDS,
} from "../../test/work-orders.js";

let broker: TestBroker;
type TestAgent = Awaited<ReturnType<typeof createAgent>>;
let agent: TestAgent;
const reason = (r: { errors?: unknown }) => (r.errors as { extensions?: { field?: string } }[] | undefined)?.[0]?.extensions;

beforeAll(async () => {
  broker = await startTestBroker();
  agent = await createAgent(broker, { activate: true });
});

describe("creating work orders", () => {
  it("creates a work order with Brokkr's defaults and its targeting", async () => {
    const order = await createWorkOrder(broker, {
      targeting: { agentIds: [agent.id], labels: ["edge"], annotations: [{ key: "tier", value: "db" }] },
    });
    expect(order).toMatchObject({
      status: "PENDING",
      maxRetries: 3,
      backoffSeconds: 60,
      claimTimeoutSeconds: 3600,
      retryCount: 0,
    });
    expect(order.targeting).toEqual({ agentIds: [agent.id], labels: ["edge"], annotations: [{ key: "tier", value: "db" }] });
  });

  it("refuses a generator or an agent creating a work order with FORBIDDEN, and no PAK with UNAUTHENTICATED", async () => {
    const gen = await createGenerator(broker);
    const input = { targeting: { agentIds: [agent.id] } };
    expect(errorCode(await tryCreateWorkOrder(broker, input, gen.pak))).toBe("FORBIDDEN");
    expect(errorCode(await tryCreateWorkOrder(broker, input, agent.pak))).toBe("FORBIDDEN");
    expect(errorCode(await tryCreateWorkOrder(broker, input, null))).toBe("UNAUTHENTICATED");
  });

  it("refuses a work order with no targeting, naming the field", async () => {
    const r = await tryCreateWorkOrder(broker, { targeting: { agentIds: [], labels: [] } });
    expect(errorCode(r)).toBe("BAD_USER_INPUT");
    expect(reason(r)?.field).toBe("targeting");
  });

  it("refuses invalid YAML with the parser's line, and out-of-range retries, backoff and timeout", async () => {
    const yaml = await tryCreateWorkOrder(broker, { yamlContent: "a: [1\nb: 2\n", targeting: { agentIds: [agent.id] } });
    expect(reason(yaml)?.field).toBe("yamlContent");
    expect(yaml.errors?.[0]?.message).toMatch(/line \d+/);
    for (const [field, value] of [
      ["maxRetries", -1],
      ["maxRetries", 101],
      ["backoffSeconds", 0],
      ["claimTimeoutSeconds", 0],
      ["claimTimeoutSeconds", 604_801],
    ] as const) {
      const r = await tryCreateWorkOrder(broker, { [field]: value, targeting: { agentIds: [agent.id] } });
      expect(reason(r)?.field, `${field}=${value}`).toBe(field);
    }
    expect(errorCode(await tryCreateWorkOrder(broker, { workType: " ", targeting: { labels: ["x"] } }))).toBe("BAD_USER_INPUT");
    expect(reason(await tryCreateWorkOrder(broker, { targeting: { labels: ["bad label"] } }))?.field).toBe("targeting.labels[0]");
  });

  it("refuses an unknown target agent with NOT_FOUND and writes nothing", async () => {
    const before = await broker.db.sql.query("SELECT count(*)::int AS n FROM work_orders");
    const r = await tryCreateWorkOrder(broker, { targeting: { agentIds: [agent.id, "00000000-0000-4000-8000-000000000000"] } });
    expect(errorCode(r)).toBe("NOT_FOUND");
    expect((await broker.db.sql.query("SELECT count(*)::int AS n FROM work_orders")).rows[0].n).toBe(before.rows[0].n);
  });
});

describe("who may claim", () => {
  it("lists pending orders by id, label or annotation (key and value), oldest first, with the work type filter", async () => {
    const me = await createAgent(broker, { activate: true, labels: ["gpu"], annotations: [{ key: "zone", value: "a" }] });
    const byId = await createWorkOrder(broker, { targeting: { agentIds: [me.id] } });
    const byLabel = await createWorkOrder(broker, { workType: "delete", targeting: { labels: ["gpu", "other"] } });
    const byNote = await createWorkOrder(broker, { targeting: { annotations: [{ key: "zone", value: "a" }] } });
    await createWorkOrder(broker, { targeting: { annotations: [{ key: "zone", value: "b" }] } });
    await createWorkOrder(broker, { targeting: { labels: ["zone"] } });
    const pending = async (workType?: string) =>
      ok(
        await broker.gql<{ pendingWorkOrders: { id: string }[] }>(
          "query($a: ID!, $t: String) { pendingWorkOrders(agentId: $a, workType: $t) { id } }",
          { a: me.id, t: workType },
          me.pak,
        ),
      ).pendingWorkOrders.map((w) => w.id);
    expect(await pending()).toEqual([byId.id, byLabel.id, byNote.id]);
    expect(await pending("delete")).toEqual([byLabel.id]);
  });

  it("refuses an agent listing another agent's pending orders, and lists none for an inactive agent", async () => {
    const other = await createAgent(broker, { activate: true });
    const query = "query($a: ID!) { pendingWorkOrders(agentId: $a) { id } }";
    expect(errorCode(await broker.gql(query, { a: other.id }, agent.pak))).toBe("FORBIDDEN");
    const idle = await createAgent(broker);
    await createWorkOrder(broker, { targeting: { agentIds: [idle.id] } });
    expect(ok(await broker.gql<{ pendingWorkOrders: unknown[] }>(query, { a: idle.id }, idle.pak)).pendingWorkOrders).toEqual([]);
  });

  it("gives one of many concurrent claims the order and refuses the rest with NOT_FOUND", async () => {
    const agents = await Promise.all([1, 2, 3, 4].map(() => createAgent(broker, { activate: true, labels: ["race"] })));
    const order = await createWorkOrder(broker, { targeting: { labels: ["race"] } });
    const results = await Promise.all(agents.flatMap((a) => [claim(broker, a.pak, order.id), claim(broker, a.pak, order.id)]));
    const winners = results.filter((r) => !r.errors);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => errorCode(r) === "NOT_FOUND")).toHaveLength(results.length - 1);
    const winner = winners[0]?.data?.claimWorkOrder.workOrder;
    expect(winner?.status).toBe("CLAIMED");
    expect(agents.map((a) => a.id)).toContain(winner?.claimedBy);
  });

  it("refuses a claim by an agent the order is not targeted at, for another agent, or while inactive", async () => {
    const target = await createAgent(broker, { activate: true });
    const order = await createWorkOrder(broker, { targeting: { agentIds: [target.id] } });
    expect(errorCode(await claim(broker, agent.pak, order.id))).toBe("NOT_FOUND");
    expect(errorCode(await claim(broker, agent.pak, order.id, target.id))).toBe("FORBIDDEN");
    const idle = await createAgent(broker);
    const idleOrder = await createWorkOrder(broker, { targeting: { agentIds: [idle.id] } });
    expect(errorCode(await claim(broker, idle.pak, idleOrder.id))).toBe("FORBIDDEN");
    const gen = await createGenerator(broker);
    expect(errorCode(await claim(broker, gen.pak, order.id, target.id))).toBe("FORBIDDEN");
    expect(await workOrderStatus(broker, order.id)).toBe("PENDING");
    expect(await workOrderStatus(broker, idleOrder.id)).toBe("PENDING");
  });

  it("lets the admin claim for a named agent, and requires the agent id", async () => {
    const order = await createWorkOrder(broker, { targeting: { agentIds: [agent.id] } });
    expect(errorCode(await claim(broker, broker.adminPak, order.id))).toBe("BAD_USER_INPUT");
    expect(ok(await claim(broker, broker.adminPak, order.id, agent.id)).claimWorkOrder.workOrder.claimedBy).toBe(agent.id);
  });
});

describe("completing", () => {
  it("moves a successful order into the log under its id", async () => {
    const order = await createWorkOrder(broker, { targeting: { agentIds: [agent.id] } });
    ok(await claim(broker, agent.pak, order.id));
    const done = ok(await complete(broker, agent.pak, { id: order.id, success: true, message: "applied 1" })).completeWorkOrder;
    expect(done).toMatchObject({ outcome: "SUCCEEDED", logEntry: { id: order.id, success: true, resultMessage: "applied 1" } });
    expect(await workOrderStatus(broker, order.id)).toBeNull();
    const entry = ok(
      await broker.gql<{ workOrderLog: { edges: { node: { id: string; claimedBy: string } }[] } }>(
        "query($a: ID) { workOrderLog(filter: { agentId: $a, success: true }) { edges { node { id claimedBy } } } }",
        { a: agent.id },
      ),
    ).workOrderLog.edges.map((e) => e.node);
    expect(entry).toContainEqual({ id: order.id, claimedBy: agent.id });
  });

  it("refuses completing an unclaimed order, or one claimed by another agent, with FORBIDDEN", async () => {
    const other = await createAgent(broker, { activate: true, labels: ["pair"] });
    const me = await createAgent(broker, { activate: true, labels: ["pair"] });
    const order = await createWorkOrder(broker, { targeting: { labels: ["pair"] } });
    expect(errorCode(await complete(broker, me.pak, { id: order.id, success: true }))).toBe("FORBIDDEN");
    expect(errorCode(await complete(broker, broker.adminPak, { id: order.id, success: true }))).toBe("FORBIDDEN");
    ok(await claim(broker, other.pak, order.id));
    expect(errorCode(await complete(broker, me.pak, { id: order.id, success: true }))).toBe("FORBIDDEN");
    expect(await workOrderStatus(broker, order.id)).toBe("CLAIMED");
    expect(errorCode(await complete(broker, me.pak, { id: "00000000-0000-4000-8000-000000000000", success: true }))).toBe(
      "NOT_FOUND",
    );
  });

  it("logs a failure that is not retryable at once", async () => {
    const order = await createWorkOrder(broker, { targeting: { agentIds: [agent.id] } });
    ok(await claim(broker, agent.pak, order.id));
    const done = ok(
      await complete(broker, agent.pak, { id: order.id, success: false, retryable: false, message: "bad kind" }),
    ).completeWorkOrder;
    expect(done).toMatchObject({
      outcome: "FAILED",
      logEntry: { success: false, resultMessage: "bad kind", retriesAttempted: 0 },
    });
  });
});

describe("reading and deleting", () => {
  it("shows an agent only orders targeted at it, and generators none", async () => {
    const other = await createAgent(broker, { activate: true });
    const order = await createWorkOrder(broker, { targeting: { agentIds: [other.id] } });
    const read = `query($id: ID!) { workOrder(id: $id) { ${WORK_ORDER_FIELDS} } }`;
    expect(ok(await broker.gql<{ workOrder: { id: string } }>(read, { id: order.id }, other.pak)).workOrder.id).toBe(order.id);
    expect(errorCode(await broker.gql(read, { id: order.id }, agent.pak))).toBe("FORBIDDEN");
    const gen = await createGenerator(broker);
    expect(errorCode(await broker.gql(read, { id: order.id }, gen.pak))).toBe("FORBIDDEN");
    expect(errorCode(await broker.gql("{ workOrders { edges { node { id } } } }", {}, agent.pak))).toBe("FORBIDDEN");
    expect(errorCode(await broker.gql("{ workOrderLog { edges { node { id } } } }", {}, gen.pak))).toBe("FORBIDDEN");
  });

  it("pages the admin's list by status and type", async () => {
    const type = unique("t").slice(0, 40);
    const ids = [];
    for (let i = 0; i < 3; i++)
      ids.push((await createWorkOrder(broker, { workType: type, targeting: { agentIds: [agent.id] } })).id);
    const page = (after?: string) =>
      broker.gql<{ workOrders: { edges: { node: { id: string }; cursor: string }[]; pageInfo: { hasNextPage: boolean } } }>(
        "query($t: String, $a: String) { workOrders(filter: { workType: $t, status: PENDING }, first: 2, after: $a) { edges { node { id } cursor } pageInfo { hasNextPage } } }",
        { t: type, a: after },
      );
    const first = ok(await page()).workOrders;
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = ok(await page(first.edges[1]?.cursor)).workOrders;
    expect([...first.edges, ...second.edges].map((e) => e.node.id)).toEqual(ids);
    expect(errorCode(await page("not-a-cursor"))).toBe("BAD_USER_INPUT");
  });

  it("counts an agent's pending and claimed orders in its fleet status", async () => {
    const me = await createAgent(broker, { activate: true, labels: ["fleet-wo"] });
    const first = await createWorkOrder(broker, { targeting: { labels: ["fleet-wo"] } });
    await createWorkOrder(broker, { targeting: { agentIds: [me.id], labels: ["fleet-wo"] } });
    ok(await claim(broker, me.pak, first.id));
    const status = ok(
      await broker.gql<{ agent: { fleetStatus: { pendingWorkOrders: number; claimedWorkOrders: number } } }>(
        "query($id: ID!) { agent(id: $id) { fleetStatus { pendingWorkOrders claimedWorkOrders } } }",
        { id: me.id },
      ),
    ).agent.fleetStatus;
    expect(status).toEqual({ pendingWorkOrders: 1, claimedWorkOrders: 1 });
    const rest = await fetch(`${broker.url}/api/v1/agents/${me.id}/fleet-status`, {
      headers: { authorization: broker.adminPak },
    });
    expect((await rest.json()).record).toMatchObject({ pending_work_orders: 1, claimed_work_orders: 1 });
  });

  it("deletes an order with its targets, labels and annotations", async () => {
    const order = await createWorkOrder(broker, {
      targeting: { agentIds: [agent.id], labels: ["gone"], annotations: [{ key: "k", value: "v" }] },
    });
    const del = "mutation($id: ID!) { deleteWorkOrder(input: { id: $id }) { deletedId } }";
    expect(errorCode(await broker.gql(del, { id: order.id }, agent.pak))).toBe("FORBIDDEN");
    expect(
      ok(await broker.gql<{ deleteWorkOrder: { deletedId: string } }>(del, { id: order.id })).deleteWorkOrder.deletedId,
    ).toBe(order.id);
    for (const table of ["work_order_targets", "work_order_labels", "work_order_annotations"]) {
      const { rows } = await broker.db.sql.query(`SELECT count(*)::int AS n FROM ${table} WHERE work_order_id = $1`, [order.id]);
      expect(rows[0].n, table).toBe(0);
    }
    expect(errorCode(await broker.gql(del, { id: order.id }))).toBe("NOT_FOUND");
  });
});
