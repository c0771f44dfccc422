import { beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, createObject, createStack, targetedAgent, targetStack } from "../../test/factories.js";
import { nextOpened } from "../../test/subscriptions.js";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});

async function rest(method: string, path: string, pak: string | null, body?: unknown) {
  const res = await fetch(`${broker.url}/api/v1${path}`, {
    method,
    headers: { ...(pak ? { authorization: `Bearer ${pak}` } : {}), ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function fixture() {
  const { gen, agent, stack } = await targetedAgent(broker);
  const obj = await createObject(broker, gen.pak, stack.id);
  return { gen, agent, stack, obj };
}

describe("REST fallback (Brokkr v1 shapes)", () => {
  it("identifies the caller of a PAK", async () => {
    const { agent, gen } = await fixture();
    expect((await rest("POST", "/auth/pak", agent.pak)).body).toEqual({
      admin: false,
      agent: agent.id,
      generator: null,
      readonly: false,
    });
    expect((await rest("POST", "/auth/pak", gen.pak)).body).toMatchObject({ admin: false, generator: gen.id });
    expect((await rest("POST", "/auth/pak", broker.adminPak)).body).toMatchObject({ admin: true });
    const none = await rest("POST", "/auth/pak", null);
    expect(none.status).toBe(401);
    expect(none.body.code).toBe("UNAUTHENTICATED");
  });

  it("serves the target state in full and incremental mode", async () => {
    const { agent, obj, stack } = await fixture();
    const full = await rest("GET", `/agents/${agent.id}/target-state?mode=full`, agent.pak);
    expect(full.status).toBe(200);
    expect(full.body).toHaveLength(1);
    expect(full.body[0]).toMatchObject({
      id: obj.id,
      stack_id: stack.id,
      sequence_id: Number(obj.sequenceId),
      is_deletion_marker: false,
    });
    const posted = await rest("POST", `/agents/${agent.id}/events`, agent.pak, {
      agent_id: agent.id,
      deployment_object_id: obj.id,
      event_type: "DEPLOYMENT",
      status: "SUCCESS",
      message: "applied",
    });
    expect(posted.status).toBe(201);
    expect(posted.body).toMatchObject({ agent_id: agent.id, deployment_object_id: obj.id, status: "SUCCESS" });
    expect((await rest("GET", `/agents/${agent.id}/target-state?mode=incremental`, agent.pak)).body).toEqual([]);
    // Brokkr's default is incremental; full keeps the acknowledged object.
    expect((await rest("GET", `/agents/${agent.id}/target-state`, agent.pak)).body).toEqual([]);
    expect((await rest("GET", `/agents/${agent.id}/target-state?mode=full`, agent.pak)).body).toHaveLength(1);
    expect((await rest("GET", `/agents/${agent.id}/events`, agent.pak)).body).toHaveLength(1);
    expect((await rest("GET", `/agents/${agent.id}/stacks`, agent.pak)).body.map((s: { id: string }) => s.id)).toEqual([
      stack.id,
    ]);
  });

  it("lets an agent touch only its own id", async () => {
    const { agent, obj } = await fixture();
    const other = await createAgent(broker, { activate: true });
    expect((await rest("GET", `/agents/${other.id}/target-state`, agent.pak)).status).toBe(403);
    const wrongBody = await rest("POST", `/agents/${agent.id}/events`, agent.pak, {
      agent_id: other.id,
      deployment_object_id: obj.id,
      event_type: "DEPLOYMENT",
      status: "SUCCESS",
    });
    expect(wrongBody.status).toBe(400);
    expect((await rest("GET", `/agents/${agent.id}/target-state`, null)).status).toBe(401);
    expect((await rest("GET", `/agents/${agent.id}/target-state?mode=bogus`, agent.pak)).status).toBe(400);
  });

  it("records heartbeats (204) and deployment health", async () => {
    const { agent, obj } = await fixture();
    const hb = await rest("POST", `/agents/${agent.id}/heartbeat`, agent.pak, { k8s_reachable: true, k8s_api_latency_ms: 12 });
    expect(hb.status).toBe(204);
    const { rows } = await broker.db.sql.query(
      "SELECT last_heartbeat, k8s_reachable, k8s_api_latency_ms FROM agents WHERE id = $1",
      [agent.id],
    );
    expect(rows[0]).toMatchObject({ k8s_reachable: true, k8s_api_latency_ms: 12 });
    expect(rows[0].last_heartbeat).not.toBeNull();
    expect((await rest("POST", `/agents/${agent.id}/heartbeat`, agent.pak, { k8s_api_latency_ms: -1 })).status).toBe(400);
    const health = await rest("PATCH", `/agents/${agent.id}/health-status`, agent.pak, {
      deployment_objects: [{ id: obj.id, status: "degraded", summary: { pods_ready: 0 }, checked_at: new Date().toISOString() }],
    });
    expect(health.status).toBe(200);
    const stored = await broker.db.sql.query("SELECT status FROM deployment_health WHERE agent_id = $1", [agent.id]);
    expect(stored.rows).toEqual([{ status: "degraded" }]);
  });

  it("long-polls: answers at once when something is newer, else when a change commits", async () => {
    const { agent, gen, stack, obj } = await fixture();
    const now = await rest("GET", `/agents/${agent.id}/deployment-objects?after=0&wait=5`, agent.pak);
    expect(now.body.deployment_objects.map((o: { id: string }) => o.id)).toEqual([obj.id]);
    expect(now.body.stack_ids).toEqual([stack.id]);
    const cursor = now.body.cursor;
    const polling = nextOpened(broker, `longPoll:${agent.id}`);
    const waiting = rest("GET", `/agents/${agent.id}/deployment-objects?after=${cursor}&wait=20`, agent.pak);
    await polling;
    const next = await createObject(broker, gen.pak, stack.id, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: next\n");
    const answered = await waiting;
    expect(answered.body.deployment_objects.map((o: { id: string }) => o.id)).toEqual([next.id]);
    const empty = await rest("GET", `/agents/${agent.id}/deployment-objects?after=${answered.body.cursor}&wait=0`, agent.pak);
    expect(empty.body.deployment_objects).toEqual([]);
    expect((await rest("GET", `/agents/${agent.id}/deployment-objects?after=x`, agent.pak)).status).toBe(400);
  });

  it("long-polls: answers when a stack with an older object becomes targeted", async () => {
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker, { activate: true });
    const stack = await createStack(broker, gen.pak);
    const obj = await createObject(broker, gen.pak, stack.id);
    const unrelated = await createStack(broker, gen.pak);
    const first = await rest("GET", `/agents/${agent.id}/deployment-objects?after=0&wait=0`, agent.pak);
    expect(first.body.stack_ids).toEqual([]);
    const polling = nextOpened(broker, `longPoll:${agent.id}`);
    const waiting = rest("GET", `/agents/${agent.id}/deployment-objects?after=0&wait=20`, agent.pak);
    await polling;
    await createObject(broker, gen.pak, unrelated.id);
    await targetStack(broker, agent.id, stack.id);
    const answered = await waiting;
    expect(answered.body.deployment_objects.map((o: { id: string }) => o.id)).toEqual([obj.id]);
    expect(answered.body.stack_ids).toEqual([stack.id]);
  });

  it("gives an inactive agent an empty target state", async () => {
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker);
    const stack = await createStack(broker, gen.pak);
    await targetStack(broker, agent.id, stack.id);
    await createObject(broker, gen.pak, stack.id);
    expect((await rest("GET", `/agents/${agent.id}/target-state`, agent.pak)).body).toEqual([]);
  });
});

describe("operational endpoints", () => {
  it("reports health, readiness and Prometheus metrics", async () => {
    expect((await fetch(`${broker.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${broker.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${broker.url}/metrics`)).text();
    for (const name of [
      "brokkr_active_subscriptions",
      "brokkr_deliveries_total",
      "brokkr_commit_to_send_seconds",
      "brokkr_listener_reconnects_total",
      "brokkr_connected_agents",
    ]) {
      expect(metrics).toContain(name);
    }
  });
});
