import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, createObject, createStack, registerAgent, targetStack } from "../../test/factories.js";
import { OPERATIONS, specClient } from "../../test/openapi/spec.js";

/*
 * Brokkr's REST API v1 as its SDKs and agents call it: each served operation through a client
 * generated from the spec, each response validated against the spec's codes and schemas (the
 * client's middleware throws on a mismatch). SERVED names the operations /api/v1 serves today;
 * the rest arrive with their features, and must join this list and this test.
 */
const SERVED = [
  "verify_pak",
  "get_target_state",
  "get_associated_stacks",
  "list_events",
  "create_event",
  "record_heartbeat",
  "update_health_status",
] as const;

let broker: TestBroker;
const exercised = new Set<string>();
let agent: { id: string; pak: string };
let objectId: string;
let stackId: string;

beforeAll(async () => {
  broker = await startTestBroker();
  const generator = await createGenerator(broker);
  agent = await createAgent(broker, { activate: true });
  await registerAgent(broker, agent.id, generator.id);
  const stack = await createStack(broker, generator.pak);
  stackId = stack.id;
  await targetStack(broker, agent.id, stack.id);
  objectId = (await createObject(broker, generator.pak, stack.id)).id;
});

afterAll(() => {
  // Every operation we claim to serve was exercised here (and so validated against the spec).
  expect([...exercised].filter((id) => (SERVED as readonly string[]).includes(id)).sort()).toEqual([...SERVED].sort());
});

describe("Brokkr's REST API v1, validated against its OpenAPI spec", () => {
  it("names only operations the spec has", () => {
    for (const id of SERVED) expect(OPERATIONS.has(id), id).toBe(true);
  });

  it("verify_pak answers the admin, an agent, and a wrong key", async () => {
    const admin = specClient(broker.url, exercised, broker.adminPak);
    expect((await admin.POST("/auth/pak")).data).toEqual({ admin: true, agent: null, generator: null, readonly: false });
    const asAgent = specClient(broker.url, exercised, agent.pak);
    expect((await asAgent.POST("/auth/pak")).data).toMatchObject({ admin: false, agent: agent.id });
    const wrong = specClient(broker.url, exercised, "brokkr_BR3rVsDa_GK3QN7CDUzYc6iKgMkJ98M2WSimM5t6U9");
    expect((await wrong.POST("/auth/pak")).response.status).toBe(401);
  });

  it("get_target_state in both modes, and for another agent's id", async () => {
    const client = specClient(broker.url, exercised, agent.pak);
    const full = await client.GET("/agents/{id}/target-state", { params: { path: { id: agent.id }, query: { mode: "full" } } });
    expect(full.data?.map((o) => o.id)).toEqual([objectId]);
    const incremental = await client.GET("/agents/{id}/target-state", { params: { path: { id: agent.id }, query: { mode: "incremental" } } });
    expect(incremental.response.status).toBe(200);
    const other = await createAgent(broker);
    const refused = await client.GET("/agents/{id}/target-state", { params: { path: { id: other.id } } });
    expect(refused.response.status).toBe(403);
  });

  it("get_associated_stacks lists the agent's stacks", async () => {
    const client = specClient(broker.url, exercised, agent.pak);
    const stacks = await client.GET("/agents/{id}/stacks", { params: { path: { id: agent.id } } });
    expect(stacks.data?.map((s) => s.id)).toEqual([stackId]);
  });

  it("create_event then list_events", async () => {
    const client = specClient(broker.url, exercised, agent.pak);
    const created = await client.POST("/agents/{id}/events", {
      params: { path: { id: agent.id } },
      body: { agent_id: agent.id, deployment_object_id: objectId, event_type: "DEPLOY", status: "SUCCESS", message: "applied" } as never,
    });
    expect(created.response.status).toBe(201);
    const listed = await client.GET("/agents/{id}/events", { params: { path: { id: agent.id } } });
    expect(listed.data?.map((e) => e.status)).toContain("SUCCESS");
  });

  it("record_heartbeat and update_health_status", async () => {
    const client = specClient(broker.url, exercised, agent.pak);
    const beat = await client.POST("/agents/{id}/heartbeat", { params: { path: { id: agent.id } }, body: { k8s_reachable: true, k8s_api_latency_ms: 12 } });
    expect(beat.response.status).toBe(204);
    const health = await client.PATCH("/agents/{id}/health-status", {
      params: { path: { id: agent.id } },
      body: { deployment_objects: [{ id: objectId, status: "healthy", summary: { pods_total: 1, pods_unhealthy: 0 }, checked_at: new Date().toISOString() }] } as never,
    });
    expect(health.response.status).toBe(200);
  });
});
