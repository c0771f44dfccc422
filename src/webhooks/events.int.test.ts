import { beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/db.js";
import { type DomainEvent, outboxProbe } from "../../test/domain-events.js";
import { EVENT_TYPES } from "./event-types.js";

/*
 * The outbox triggers of migration 0013, driven by plain SQL (any writer is covered, not only
 * the broker's services): each change records its event in its own transaction, a rollback
 * records nothing, a batched insert records one event per row.
 */
let db: TestDatabase;
let probe: ReturnType<typeof outboxProbe>;
const q: ReturnType<typeof outboxProbe>["q"] = (text, params) => probe.q(text, params);
const one = (text: string, params?: unknown[]) => probe.one(text, params);
const eventsDuring = (fn: () => Promise<unknown>) => probe.eventsDuring(fn);
const types = (events: DomainEvent[]) => events.map((e) => e.event_type);

const generator = () => one("INSERT INTO generators (name) VALUES ($1) RETURNING id", [`g-${Math.random()}`]);
const stack = (g: string) =>
  one("INSERT INTO stacks (generator_id, name) VALUES ($1, $2) RETURNING id", [g, `s-${Math.random()}`]);
const agent = () => one("INSERT INTO agents (name, cluster_name) VALUES ($1, 'c') RETURNING id", [`a-${Math.random()}`]);
const object = (s: string, g: string) =>
  one(
    `INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum)
     VALUES ($1, $2, 'a: 1', encode(sha256('a: 1'), 'hex')) RETURNING id`,
    [s, g],
  );

beforeAll(async () => {
  db = await createTestDatabase();
  probe = outboxProbe(db.sql);
});

describe("domain event triggers", () => {
  it("records generator.created and stack.created with their ids", async () => {
    let g = "";
    let s = "";
    const events = await eventsDuring(async () => {
      g = await generator();
      s = await stack(g);
    });
    expect(types(events)).toEqual(["generator.created", "stack.created"]);
    expect(events[0]?.data.generator_id).toBe(g);
    expect(events[1]).toMatchObject({ stack_id: s, data: { stack_id: s, generator_id: g } });
  });

  it("records deployment.created for an object and deployment.deleted for the marker of a deleted stack", async () => {
    const g = await generator();
    const s = await stack(g);
    let o = "";
    const created = await eventsDuring(async () => (o = await object(s, g)));
    expect(created).toEqual([expect.objectContaining({ event_type: "deployment.created", stack_id: s })]);
    expect(created[0]?.data).toMatchObject({ deployment_object_id: o, is_deletion_marker: false });
    const deleted = await eventsDuring(() => q("UPDATE stacks SET deleted_at = now() WHERE id = $1", [s]));
    expect(types(deleted).sort()).toEqual(["deployment.deleted", "stack.deleted"]);
  });

  it("records stack.updated on a rename and stack.deleted once for a soft then hard delete", async () => {
    const s = await stack(await generator());
    expect(types(await eventsDuring(() => q("UPDATE stacks SET name = $2 WHERE id = $1", [s, `r-${Math.random()}`])))).toEqual([
      "stack.updated",
    ]);
    expect(types(await eventsDuring(() => q("UPDATE stacks SET updated_at = now() WHERE id = $1", [s])))).toEqual([]);
    const soft = await eventsDuring(() => q("UPDATE stacks SET deleted_at = now() WHERE id = $1", [s]));
    expect(types(soft)).toContain("stack.deleted");
    expect(types(await eventsDuring(() => q("DELETE FROM stacks WHERE id = $1", [s])))).not.toContain("stack.deleted");
  });

  it("records agent.registered, agent.status_changed and agent.deregistered, and nothing for a heartbeat", async () => {
    let a = "";
    const events = await eventsDuring(async () => {
      a = await agent();
      await q("UPDATE agents SET last_heartbeat = now() WHERE id = $1", [a]);
      await q("UPDATE agents SET status = 'ACTIVE' WHERE id = $1", [a]);
      await q("UPDATE agents SET deleted_at = now() WHERE id = $1", [a]);
      await q("DELETE FROM agents WHERE id = $1", [a]);
    });
    expect(types(events)).toEqual(["agent.registered", "agent.status_changed", "agent.deregistered"]);
    expect(events[1]?.data).toMatchObject({ status: "ACTIVE", previous_status: "INACTIVE" });
    expect(events.every((e) => e.agent_id === a)).toBe(true);
  });

  it("records stack.targeted and stack.untargeted with agent and stack", async () => {
    const s = await stack(await generator());
    const a = await agent();
    const events = await eventsDuring(async () => {
      await q("INSERT INTO agent_targets (agent_id, stack_id) VALUES ($1, $2)", [a, s]);
      await q("DELETE FROM agent_targets WHERE agent_id = $1", [a]);
    });
    expect(events.map((e) => [e.event_type, e.agent_id, e.stack_id])).toEqual([
      ["stack.targeted", a, s],
      ["stack.untargeted", a, s],
    ]);
  });

  it("records deployment.applied and deployment.failed with the object's stack", async () => {
    const g = await generator();
    const s = await stack(g);
    const o = await object(s, g);
    const a = await agent();
    const events = await eventsDuring(() =>
      q(
        `INSERT INTO agent_events (agent_id, deployment_object_id, status, message)
         VALUES ($1, $2, 'SUCCESS', NULL), ($1, $2, 'FAILURE', 'boom')`,
        [a, o],
      ),
    );
    expect(events.map((e) => [e.event_type, e.agent_id, e.stack_id, e.data.message]).sort()).toEqual([
      ["deployment.applied", a, s, null],
      ["deployment.failed", a, s, "boom"],
    ]);
  });

  it("records generator.deleted on a soft delete", async () => {
    const g = await generator();
    const events = await eventsDuring(() => q("UPDATE generators SET deleted_at = now() WHERE id = $1", [g]));
    expect(types(events)).toContain("generator.deleted");
  });

  it("records one event per row of a batched insert", async () => {
    const g = await generator();
    const s = await stack(g);
    const events = await eventsDuring(() =>
      q(
        `INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum)
         SELECT $1, $2, 'n: ' || n, encode(sha256(convert_to('n: ' || n, 'UTF8')), 'hex') FROM generate_series(1, 25) n`,
        [s, g],
      ),
    );
    expect(events).toHaveLength(25);
    expect(new Set(events.map((e) => e.data.deployment_object_id)).size).toBe(25);
  });

  it("records nothing for changes that roll back", async () => {
    const g = await generator();
    const events = await eventsDuring(async () => {
      const client = await db.sql.connect();
      try {
        await client.query("BEGIN");
        const s = (await client.query("INSERT INTO stacks (generator_id, name) VALUES ($1, 'rolled-back') RETURNING id", [g]))
          .rows[0].id;
        await client.query(
          `INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum)
           VALUES ($1, $2, 'a: 1', encode(sha256('a: 1'), 'hex'))`,
          [s, g],
        );
        await client.query("ROLLBACK");
      } finally {
        client.release();
      }
    });
    expect(events).toEqual([]);
  });

  it("publishes only event types the list names", async () => {
    const published = await q<{ event_type: string }>("SELECT DISTINCT event_type FROM domain_events");
    for (const { event_type } of published) expect(EVENT_TYPES as readonly string[]).toContain(event_type);
  });
});
