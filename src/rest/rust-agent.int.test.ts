import { beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { CONFIGMAP_YAML, unique } from "../../test/factories.js";
import { specClient } from "../../test/openapi/spec.js";

/*
 * Brokkr's Rust agent against this broker over REST, call by call as reference §1.4 lists them
 * (start-up, then the select! loop's ticks), every answer checked against the spec by the same
 * client as the conformance test. It plays an agent with `ws_force_rest`: the websocket is
 * src/brokkr-ws's test. Its pending-work polls (work orders, diagnostics, webhook deliveries) are
 * all served: empty lists here, each feature's own tests fill them.
 */
const BASE58 = "[1-9A-HJ-NP-Za-km-z]";
const BROKKR_PAK = new RegExp(`^brokkr_BR${BASE58}{6}_${BASE58}{24,}$`);

let broker: TestBroker;
const exercised = new Set<string>();
const as = (pak: string) => specClient(broker.url, exercised, pak);
let generator: { id: string; pak: string };
let stackId: string;
const me = { id: "", name: unique("rust-agent"), cluster: "eu-1", pak: "" };
const path = () => ({ params: { path: { id: me.id } } });

async function createObject(yaml: string) {
  const made = await as(generator.pak).POST("/stacks/{id}/deployment-objects", {
    params: { path: { id: stackId } },
    body: { yaml_content: yaml, is_deletion_marker: false },
  });
  expect(made.response.status).toBe(201);
  return made.data?.id ?? "";
}

beforeAll(async () => {
  broker = await startTestBroker();
  const admin = as(broker.adminPak);
  const gen = await admin.POST("/generators", { body: { name: unique("ci") } });
  generator = { id: gen.data?.generator.id ?? "", pak: gen.data?.pak ?? "" };
  // The operator mints the agent's key and activates it (an agent never activates itself).
  const made = await admin.POST("/agents", { body: { name: me.name, cluster_name: me.cluster } });
  me.id = made.data?.agent.id ?? "";
  me.pak = made.data?.initial_pak ?? "";
  expect((await admin.PUT("/agents/{id}", { ...path(), body: { status: "ACTIVE" } })).data?.status).toBe("ACTIVE");
  stackId =
    (await as(generator.pak).POST("/stacks", { body: { name: unique("web"), generator_id: generator.id } })).data?.id ?? "";
});

describe("Brokkr's Rust agent over REST", () => {
  it("starts up: readyz, verify_pak, search_agent, self-registration (409 counts as success)", async () => {
    expect(me.pak).toMatch(BROKKR_PAK);
    expect((await fetch(`${broker.url}/readyz`)).status).toBe(200);
    const self = as(me.pak);
    expect((await self.POST("/auth/pak")).data).toEqual({ admin: false, agent: me.id, generator: null, readonly: false });
    const found = await self.GET("/agents/", { params: { query: { name: me.name, cluster_name: me.cluster } } });
    expect(found.data).toMatchObject({ id: me.id, status: "ACTIVE" });
    const register = () => self.POST("/generators/{id}/register", { params: { path: { id: generator.id } }, body: {} });
    expect((await register()).data).toMatchObject({ agent_id: me.id, generator_id: generator.id });
    expect((await register()).error).toMatchObject({ code: "already_registered" });
  });

  it("runs a tick: heartbeat, re-read, target state, event, health, and the pending-work polls", async () => {
    // Registered, the agent can be targeted by the generator's stack.
    const target = await as(generator.pak).POST("/agents/{id}/targets", {
      ...path(),
      body: { agent_id: me.id, stack_id: stackId },
    });
    expect(target.response.status).toBe(201);
    const objectId = await createObject(CONFIGMAP_YAML("one"));
    const self = as(me.pak);
    const beat = await self.POST("/agents/{id}/heartbeat", { ...path(), body: { k8s_reachable: true, k8s_api_latency_ms: 7 } });
    expect(beat.response.status).toBe(204);
    expect((await self.GET("/agents/{id}", path())).data?.status).toBe("ACTIVE");
    // No mode: incremental, as the agent calls it.
    expect((await self.GET("/agents/{id}/target-state", path())).data?.map((o) => o.id)).toEqual([objectId]);
    const event = await self.POST("/agents/{id}/events", {
      ...path(),
      body: { agent_id: me.id, deployment_object_id: objectId, event_type: "DEPLOY", status: "SUCCESS", message: "applied" },
    });
    expect(event.response.status).toBe(201);
    const health = await self.PATCH("/agents/{id}/health-status", {
      ...path(),
      body: {
        deployment_objects: [
          {
            id: objectId,
            status: "healthy",
            summary: { pods_total: 1, pods_ready: 1, conditions: [] },
            checked_at: new Date().toISOString(),
          },
        ],
      } as never,
    });
    expect(health.response.status).toBe(200);
    await expectNothingPending();
  });

  it("keeps looping: the next tick sees only the new object", async () => {
    const self = as(me.pak);
    const beat = await self.POST("/agents/{id}/heartbeat", { ...path(), body: { k8s_reachable: true, k8s_api_latency_ms: 9 } });
    expect(beat.response.status).toBe(204);
    expect((await self.GET("/agents/{id}/target-state", path())).data).toEqual([]);
    const next = await createObject(CONFIGMAP_YAML("two"));
    expect((await self.GET("/agents/{id}/target-state", path())).data?.map((o) => o.id)).toEqual([next]);
    const event = await self.POST("/agents/{id}/events", {
      ...path(),
      body: { agent_id: me.id, deployment_object_id: next, event_type: "DEPLOY", status: "SUCCESS", message: "applied" },
    });
    expect(event.response.status).toBe(201);
    await expectNothingPending();
    // The operator's view of this REST-polling agent.
    const status = (await as(broker.adminPak).GET("/agents/{id}/fleet-status", path())).data;
    expect(status?.record).toMatchObject({
      ws_connected: false,
      connected_since: null,
      pending_object_count: 0,
      health_degraded: 0,
      k8s_reachable: true,
      k8s_api_latency_ms: 9,
    });
    expect(status?.record.heartbeat_age_seconds).not.toBeNull();
    expect(status?.recent_events.map((e) => e.deployment_object_id)).toEqual([next, expect.any(String)]);
  });
});

/** The three pending-work polls of each tick, answered as the spec says, with nothing pending. */
async function expectNothingPending() {
  const self = as(me.pak);
  const agentPath = { params: { path: { agent_id: me.id } } };
  expect((await self.GET("/agents/{agent_id}/work-orders/pending", agentPath)).data).toEqual([]);
  expect((await self.GET("/agents/{id}/diagnostics/pending", path())).data).toEqual([]);
  expect((await self.GET("/agents/{agent_id}/webhooks/pending", agentPath)).data).toEqual([]);
}
