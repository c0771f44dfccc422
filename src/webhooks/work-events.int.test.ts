import { beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/db.js";
import { type DomainEvent, outboxProbe } from "../../test/domain-events.js";
import { EVENT_TYPES } from "./event-types.js";

/*
 * The outbox triggers of migration 0017, driven by plain SQL as any writer would: work orders
 * and diagnostics record the event types the list names, in the writer's transaction.
 */
let db: TestDatabase;
let probe: ReturnType<typeof outboxProbe>;
const q: ReturnType<typeof outboxProbe>["q"] = (text, params) => probe.q(text, params);
const one = (text: string, params?: unknown[]) => probe.one(text, params);
const eventsDuring = (fn: () => Promise<unknown>) => probe.eventsDuring(fn);
const types = (events: DomainEvent[]) => events.map((e) => e.event_type);

let agentId = "";
let stackId = "";
let objectId = "";

beforeAll(async () => {
  db = await createTestDatabase();
  probe = outboxProbe(db.sql);
  const g = await one("INSERT INTO generators (name) VALUES ('g') RETURNING id");
  stackId = await one("INSERT INTO stacks (generator_id, name) VALUES ($1, 's') RETURNING id", [g]);
  agentId = await one("INSERT INTO agents (name, cluster_name) VALUES ('a', 'c') RETURNING id");
  objectId = await one(
    `INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum)
     VALUES ($1, $2, 'a: 1', encode(sha256('a: 1'), 'hex')) RETURNING id`,
    [stackId, g],
  );
});

describe("work-order and diagnostic event triggers", () => {
  it("records workorder.created, .claimed, then .completed or .failed as the order moves to the log", async () => {
    let id = "";
    const events = await eventsDuring(async () => {
      id = await one("INSERT INTO work_orders (work_type, yaml_content) VALUES ('apply', 'a: 1') RETURNING id");
      await q("UPDATE work_orders SET status = 'CLAIMED', claimed_by = $2, claimed_at = now() WHERE id = $1", [id, agentId]);
      // A heartbeat-like update of another column tells nothing.
      await q("UPDATE work_orders SET last_error = 'x' WHERE id = $1", [id]);
      await q(
        `INSERT INTO work_order_log (id, work_type, created_at, claimed_at, claimed_by, success, yaml_content)
         VALUES ($1, 'apply', now(), now(), $2, true, 'a: 1')`,
        [id, agentId],
      );
      await q(
        `INSERT INTO work_order_log (id, work_type, created_at, claimed_by, success, yaml_content, result_message)
         VALUES (gen_random_uuid(), 'delete', now(), $1, false, 'a: 1', 'gave up')`,
        [agentId],
      );
    });
    expect(types(events)).toEqual(["workorder.created", "workorder.claimed", "workorder.completed", "workorder.failed"]);
    expect(events[1]).toMatchObject({ agent_id: agentId, data: { work_order_id: id, agent_id: agentId } });
    expect(events[3]?.data).toMatchObject({ success: false, result_message: "gave up" });
  });

  it("records diagnostic.requested and .completed with the object's stack", async () => {
    let id = "";
    const events = await eventsDuring(async () => {
      id = await one(
        `INSERT INTO diagnostic_requests (agent_id, deployment_object_id, expires_at)
         VALUES ($1, $2, now() + interval '10 minutes') RETURNING id`,
        [agentId, objectId],
      );
      await q("UPDATE diagnostic_requests SET status = 'completed', completed_at = now() WHERE id = $1", [id]);
      await q("INSERT INTO diagnostic_results (request_id, pod_statuses, events, collected_at) VALUES ($1, '[]', '[]', now())", [
        id,
      ]);
    });
    expect(types(events)).toEqual(["diagnostic.requested", "diagnostic.completed"]);
    for (const e of events)
      expect(e).toMatchObject({ agent_id: agentId, stack_id: stackId, data: { diagnostic_request_id: id } });
  });

  it("records diagnostic.expired and .failed when the clean-up removes requests that got no result", async () => {
    const expired = (status: string) =>
      one(
        `INSERT INTO diagnostic_requests (agent_id, deployment_object_id, status, created_at, claimed_at, expires_at)
         VALUES ($1, $2, $3, now() - interval '2 minutes', CASE WHEN $3 = 'claimed' THEN now() END, now() - interval '1 minute')
         RETURNING id`,
        [agentId, objectId, status],
      );
    const pending = await expired("pending");
    const claimed = await expired("claimed");
    const live = await one(
      "INSERT INTO diagnostic_requests (agent_id, deployment_object_id, expires_at) VALUES ($1, $2, now() + interval '5 minutes') RETURNING id",
      [agentId, objectId],
    );
    const events = await eventsDuring(() =>
      q("DELETE FROM diagnostic_requests WHERE id = ANY($1::uuid[])", [[pending, claimed, live]]),
    );
    expect(events.map((e) => [e.event_type, e.data.diagnostic_request_id]).sort()).toEqual(
      [
        ["diagnostic.expired", pending],
        ["diagnostic.failed", claimed],
      ].sort(),
    );
  });

  it("records nothing for a transaction that rolls back", async () => {
    const events = await eventsDuring(async () => {
      const client = await db.sql.connect();
      try {
        await client.query("BEGIN");
        await client.query("INSERT INTO work_orders (work_type, yaml_content) VALUES ('apply', 'a: 1')");
        await client.query("ROLLBACK");
      } finally {
        client.release();
      }
    });
    expect(events).toEqual([]);
  });

  it("publishes only event types the list names", async () => {
    const published = await q<{ event_type: string }>("SELECT DISTINCT event_type FROM domain_events");
    expect(published.length).toBeGreaterThan(5);
    for (const { event_type } of published) expect(EVENT_TYPES as readonly string[]).toContain(event_type);
  });
});
