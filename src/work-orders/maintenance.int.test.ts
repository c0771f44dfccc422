import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { listenTo } from "../../test/db.js";
import { createAgent } from "../../test/factories.js";
import { claim, complete, createWorkOrder, workOrderStatus } from "../../test/work-orders.js";
import { configFrom } from "../config.js";
import { REQUEUE_SQL } from "./store.js";
import { WORK_ORDER_MAINTENANCE } from "./tasks.js";

let broker: TestBroker;
let agent: Awaited<ReturnType<typeof createAgent>>;
const sql = (text: string, params: unknown[] = []) => broker.db.sql.query(text, params);
const maintain = () => broker.app.scheduler.runNow(WORK_ORDER_MAINTENANCE);
// Time is moved by writing the row's timestamps back, never by waiting.
const makeRetryDue = (id: string) =>
  sql("UPDATE work_orders SET next_retry_after = now() - interval '1 second' WHERE id = $1", [id]);
const ageClaim = (id: string) => sql("UPDATE work_orders SET claimed_at = now() - interval '2 hours' WHERE id = $1", [id]);

beforeAll(async () => {
  broker = await startTestBroker();
  agent = await createAgent(broker, { activate: true });
});

describe("retries with backoff", () => {
  it("schedules retries at backoff · 2^attempt until max retries, then logs the failure", async () => {
    const order = await createWorkOrder(broker, { maxRetries: 2, backoffSeconds: 5, targeting: { agentIds: [agent.id] } });
    for (const attempt of [1, 2]) {
      ok(await claim(broker, agent.pak, order.id));
      const before = Date.now();
      const done = ok(
        await complete(broker, agent.pak, { id: order.id, success: false, message: `boom ${attempt}` }),
      ).completeWorkOrder;
      expect(done.outcome).toBe("RETRY_SCHEDULED");
      expect(done.workOrder).toMatchObject({
        status: "RETRY_PENDING",
        retryCount: attempt,
        claimedBy: null,
        lastError: `boom ${attempt}`,
      });
      const delayMs = new Date(done.workOrder?.nextRetryAfter ?? 0).getTime() - before;
      // 5 s · 2^attempt from now, give or take the request's own time.
      expect(delayMs).toBeGreaterThan(5_000 * 2 ** attempt - 2_000);
      expect(delayMs).toBeLessThanOrEqual(5_000 * 2 ** attempt + 1_000);
      // Not due yet: maintenance leaves it, and it cannot be claimed.
      await maintain();
      expect(await workOrderStatus(broker, order.id)).toBe("RETRY_PENDING");
      expect(errorCode(await claim(broker, agent.pak, order.id))).toBe("NOT_FOUND");
      await makeRetryDue(order.id);
      expect((await maintain()).handled).toBeGreaterThanOrEqual(1);
      expect(await workOrderStatus(broker, order.id)).toBe("PENDING");
    }
    ok(await claim(broker, agent.pak, order.id));
    const last = ok(await complete(broker, agent.pak, { id: order.id, success: false, message: "boom 3" })).completeWorkOrder;
    expect(last).toMatchObject({ outcome: "FAILED", logEntry: { success: false, retriesAttempted: 2, resultMessage: "boom 3" } });
    expect(await workOrderStatus(broker, order.id)).toBeNull();
  });
});

describe("stale claims", () => {
  it("requeues a claim held past its timeout, and then refuses the old claimant's completion", async () => {
    const order = await createWorkOrder(broker, { claimTimeoutSeconds: 60, targeting: { agentIds: [agent.id] } });
    ok(await claim(broker, agent.pak, order.id));
    await maintain();
    expect(await workOrderStatus(broker, order.id)).toBe("CLAIMED");
    await ageClaim(order.id);
    await maintain();
    const { rows } = await sql("SELECT status, claimed_by, claimed_at FROM work_orders WHERE id = $1", [order.id]);
    expect(rows[0]).toEqual({ status: "PENDING", claimed_by: null, claimed_at: null });
    expect(errorCode(await complete(broker, agent.pak, { id: order.id, success: true }))).toBe("FORBIDDEN");
  });

  it("is registered on the scheduler with Brokkr's 10 s interval by default", () => {
    expect(broker.app.scheduler.taskNames).toContain(WORK_ORDER_MAINTENANCE);
    expect(configFrom({}).broker.workOrders.maintenanceIntervalSeconds).toBe(10);
    expect(configFrom({ BROKKR__BROKER__WORK_ORDER_MAINTENANCE_INTERVAL_SECONDS: "3" }).broker.workOrders).toEqual({
      maintenanceIntervalSeconds: 3,
    });
    expect(() => configFrom({ BROKKR__BROKER__WORK_ORDER_MAINTENANCE_INTERVAL_SECONDS: "0" })).toThrow(
      /WORK_ORDER_MAINTENANCE_INTERVAL_SECONDS/,
    );
  });
});

describe("maintenance on several brokers at once", () => {
  async function staleOrders(n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const order = await createWorkOrder(broker, { targeting: { agentIds: [agent.id] } });
      ok(await claim(broker, agent.pak, order.id));
      await ageClaim(order.id);
      ids.push(order.id);
    }
    return ids;
  }

  it("skips rows another connection's pass holds instead of waiting or requeueing them twice", async () => {
    const ids = await staleOrders(3);
    const other = new pg.Client({ connectionString: broker.db.url });
    await other.connect();
    try {
      await other.query("BEGIN");
      const held = await other.query(REQUEUE_SQL, [500]);
      expect(held.rows.map((r) => r.id).sort()).toEqual([...ids].sort());
      // The broker's pass runs while those rows are locked: it finishes, having taken none of them.
      expect((await maintain()).handled).toBe(0);
      await other.query("COMMIT");
    } finally {
      await other.end();
    }
    expect((await maintain()).handled).toBe(0);
    for (const id of ids) expect(await workOrderStatus(broker, id)).toBe("PENDING");
  });

  it("requeues each order once when two brokers run the task together", async () => {
    const ids = await staleOrders(6);
    const second = await startTestBroker({}, broker.db);
    const [a, b] = await Promise.all([maintain(), second.app.scheduler.runNow(WORK_ORDER_MAINTENANCE)]);
    expect(a.outcome).toBe("ok");
    expect(b.outcome).toBe("ok");
    expect(a.handled + b.handled).toBe(ids.length);
    for (const id of ids) expect(await workOrderStatus(broker, id)).toBe("PENDING");
    await second.stop();
  });
});

describe("the notification trigger", () => {
  it("sends one notification per statement with the ids that became claimable, and none otherwise", async () => {
    const listener = await listenTo(broker.db.url, "brokkr_work_orders");
    const { payloads } = listener;
    try {
      const { rows } = await sql(
        `INSERT INTO work_orders (work_type, yaml_content) SELECT 'apply', 'a: 1' FROM generate_series(1, 3) RETURNING id`,
      );
      const ids = rows.map((r) => r.id as string);
      // Not claimable again: a claim and a retry schedule send nothing.
      await sql("UPDATE work_orders SET status = 'CLAIMED', claimed_at = now() WHERE id = ANY($1)", [ids]);
      await sql("UPDATE work_orders SET status = 'RETRY_PENDING', next_retry_after = now(), claimed_at = NULL WHERE id = $1", [
        ids[0],
      ]);
      await sql("UPDATE work_orders SET status = 'PENDING', claimed_at = NULL, next_retry_after = NULL WHERE id = ANY($1)", [
        ids,
      ]);
      // A sentinel: a notification that must arrive after any the statements above sent.
      await sql("SELECT pg_notify('brokkr_work_orders', 'sentinel')");
      await expect.poll(() => payloads.at(-1)).toBe("sentinel");
      const [created, requeued] = payloads.map((p) => p.split(",").sort());
      expect(payloads).toHaveLength(3);
      expect(created).toEqual(ids.map((id) => `C${id}`).sort());
      expect(requeued).toEqual([`R${ids[0]}`, `Q${ids[1]}`, `Q${ids[2]}`].sort());
    } finally {
      await listener.end();
    }
  });
});
