import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { connectBrokkrAgent } from "../../test/brokkr-agent.js";
import {
  CONFIGMAP_YAML,
  createAgent,
  createGenerator,
  createObject,
  createStack,
  registerAgent,
  targetStack,
  unique,
} from "../../test/factories.js";
import { OPERATIONS, specClient } from "../../test/openapi/spec.js";
import { ROUTES } from "./router.js";
import { WEBHOOK_OPERATIONS, webhookConformance } from "./webhook-conformance.js";

/*
 * Brokkr's REST API v1 as its SDKs and agents call it: each served operation through a client
 * generated from the spec, each response validated against the spec's codes and schemas (the
 * client's middleware throws on a mismatch). SERVED names the operations /api/v1 serves; the
 * rest arrive with their features, and must join this list and this test.
 */
const SERVED = [
  "verify_pak",
  "list_paks",
  "list_generators",
  "create_generator",
  "get_generator",
  "update_generator",
  "delete_generator",
  "rotate_generator_pak",
  "register_agent",
  "deregister_agent",
  "list_generator_registered_agents",
  "list_agents",
  "create_agent",
  "search_agent",
  "get_agent",
  "update_agent",
  "delete_agent",
  "rotate_agent_pak",
  "agents_list_labels",
  "agents_add_label",
  "agents_remove_label",
  "agents_list_annotations",
  "agents_add_annotation",
  "agents_remove_annotation",
  "list_targets",
  "add_target",
  "remove_target",
  "list_agent_registrations",
  "get_target_state",
  "get_associated_stacks",
  "list_events",
  "create_event",
  "record_heartbeat",
  "update_health_status",
  "list_agent_events",
  "get_agent_event",
  "list_stacks",
  "create_stack",
  "get_stack",
  "update_stack",
  "delete_stack",
  "stacks_list_labels",
  "stacks_add_label",
  "stacks_remove_label",
  "stacks_list_annotations",
  "stacks_add_annotation",
  "stacks_remove_annotation",
  "list_deployment_objects",
  "create_deployment_object",
  "get_deployment_object",
  "get_deployment_health",
  "get_stack_health",
  "list_fleet",
  "get_agent_fleet_status",
  "list_ws_connections",
  "reload_config",
  "create_diagnostic_request",
  "get_diagnostic",
  "claim_diagnostic",
  "submit_diagnostic_result",
  "get_pending_diagnostics",
  "list_telemetry_events",
  "list_telemetry_logs",
  "list_work_orders",
  "create_work_order",
  "get_work_order",
  "delete_work_order",
  "claim_work_order",
  "complete_work_order",
  "list_pending_for_agent",
  "list_work_order_log",
  "get_work_order_log",
  "list_templates",
  "create_template",
  "get_template",
  "update_template",
  "delete_template",
  "templates_list_labels",
  "templates_add_label",
  "templates_remove_label",
  "templates_list_annotations",
  "templates_add_annotation",
  "templates_remove_annotation",
  "instantiate_template",
  ...WEBHOOK_OPERATIONS,
  "list_audit_logs",
] as const;

let broker: TestBroker;
const exercised = new Set<string>();
let agent: { id: string; pak: string };
let generator: { id: string; pak: string };
let objectId: string;
let stackId: string;
const as = (pak: string) => specClient(broker.url, exercised, pak);
const path = (id: string) => ({ params: { path: { id } } });

beforeAll(async () => {
  broker = await startTestBroker();
  generator = await createGenerator(broker);
  agent = await createAgent(broker, { activate: true });
  await registerAgent(broker, agent.id, generator.id);
  stackId = (await createStack(broker, generator.pak)).id;
  await targetStack(broker, agent.id, stackId);
  objectId = (await createObject(broker, generator.pak, stackId)).id;
});

afterAll(() => {
  // Every operation we claim to serve was exercised here (and so validated against the spec).
  expect([...exercised].filter((id) => (SERVED as readonly string[]).includes(id)).sort()).toEqual([...SERVED].sort());
});

describe("Brokkr's REST API v1, validated against its OpenAPI spec", () => {
  it("names only operations the spec has, and exactly those the route table serves", () => {
    for (const id of SERVED) expect(OPERATIONS.has(id), id).toBe(true);
    expect(
      ROUTES.filter((r) => !r.extension)
        .map((r) => r.op)
        .sort(),
    ).toEqual([...SERVED].sort());
  });

  it("verify_pak answers the admin, an agent, and a wrong key", async () => {
    expect((await as(broker.adminPak).POST("/auth/pak")).data).toEqual({
      admin: true,
      agent: null,
      generator: null,
      readonly: false,
    });
    expect((await as(agent.pak).POST("/auth/pak")).data).toMatchObject({ admin: false, agent: agent.id });
    expect((await as("brokkr_BR3rVsDa_GK3QN7CDUzYc6iKgMkJ98M2WSimM5t6U9").POST("/auth/pak")).response.status).toBe(401);
  });

  it("manages generators: create, list, get, update, rotate, paks, delete", async () => {
    const admin = as(broker.adminPak);
    const made = await admin.POST("/generators", { body: { name: unique("ci") } });
    expect(made.response.status).toBe(201);
    const id = made.data?.generator.id ?? "";
    const self = as(made.data?.pak ?? "");
    expect((await admin.GET("/generators")).data?.map((g) => g.id)).toContain(id);
    expect((await self.GET("/generators/{id}", path(id))).data?.name).toBe(made.data?.generator.name);
    expect((await self.GET("/generators/{id}", path(generator.id))).response.status).toBe(403);
    const renamed = await self.PUT("/generators/{id}", {
      ...path(id),
      body: { name: unique("ci2"), description: "builds" } as never,
    });
    expect(renamed.data?.description).toBe("builds");
    const rotated = await self.POST("/generators/{id}/rotate-pak", path(id));
    expect(rotated.response.status).toBe(201);
    expect((await as(rotated.data?.pak ?? "").GET("/generators/{id}", path(id))).response.status).toBe(200);
    expect((await admin.GET("/paks")).data?.map((p) => p.id)).toContain(id);
    expect((await admin.DELETE("/generators/{id}", path(id))).response.status).toBe(204);
    expect((await admin.GET("/generators/{id}", path(id))).response.status).toBe(404);
  });

  it("manages agents: create, list, search, get, update, rotate, delete", async () => {
    const admin = as(broker.adminPak);
    const name = unique("edge");
    const made = await admin.POST("/agents", { body: { name, cluster_name: "eu-1", generator_ids: [generator.id] } });
    expect(made.response.status).toBe(201);
    const id = made.data?.agent.id ?? "";
    const self = as(made.data?.initial_pak ?? "");
    expect((await admin.GET("/agents")).data?.map((a) => a.id)).toContain(id);
    expect((await as(generator.pak).GET("/agents")).data?.map((a) => a.id)).toContain(id);
    expect((await self.GET("/agents/", { params: { query: { name, cluster_name: "eu-1" } } })).data?.id).toBe(id);
    expect((await self.GET("/agents/{id}", path(id))).data?.status).toBe("INACTIVE");
    // An agent never activates itself (reference §5.4).
    expect((await self.PUT("/agents/{id}", { ...path(id), body: { status: "ACTIVE" } })).response.status).toBe(403);
    expect((await admin.PUT("/agents/{id}", { ...path(id), body: { status: "ACTIVE" } })).data?.status).toBe("ACTIVE");
    const rotated = await self.POST("/agents/{id}/rotate-pak", path(id));
    expect(rotated.response.status).toBe(200);
    expect(
      (await as((rotated.data as { pak?: string } | undefined)?.pak ?? "").GET("/agents/{id}", path(id))).response.status,
    ).toBe(200);
    expect((await admin.DELETE("/agents/{id}", path(id))).response.status).toBe(204);
    expect((await admin.GET("/agents/{id}", path(id))).response.status).toBe(404);
  });

  it("registers and deregisters an agent, and lists registrations both ways", async () => {
    const other = await createGenerator(broker);
    const self = as(agent.pak);
    const registered = await self.POST("/generators/{id}/register", { ...path(other.id), body: {} });
    expect(registered.data).toMatchObject({ agent_id: agent.id, generator_id: other.id });
    expect((await self.POST("/generators/{id}/register", { ...path(other.id), body: {} })).error).toMatchObject({
      code: "already_registered",
    });
    expect((await self.GET("/agents/{id}/registrations", path(agent.id))).data?.map((r) => r.generator_id)).toContain(other.id);
    expect((await as(other.pak).GET("/generators/{id}/registered-agents", path(other.id))).data?.map((r) => r.agent_id)).toEqual([
      agent.id,
    ]);
    expect((await self.DELETE("/generators/{id}/register", { ...path(other.id), body: {} })).response.status).toBe(204);
  });

  it("adds, lists and removes agent labels (a bare JSON string) and annotations", async () => {
    const admin = as(broker.adminPak);
    const label = await admin.POST("/agents/{id}/labels", { ...path(agent.id), body: "edge" as never });
    expect(label.data).toMatchObject({ agent_id: agent.id, label: "edge" });
    expect((await as(agent.pak).GET("/agents/{id}/labels", path(agent.id))).data?.map((l) => l.label)).toEqual(["edge"]);
    expect(
      (await admin.DELETE("/agents/{id}/labels/{label}", { params: { path: { id: agent.id, label: "edge" } } })).response.status,
    ).toBe(204);
    const note = await admin.POST("/agents/{id}/annotations", {
      ...path(agent.id),
      body: { agent_id: agent.id, key: "region", value: "eu" },
    });
    expect(note.data).toMatchObject({ key: "region", value: "eu" });
    expect((await as(agent.pak).GET("/agents/{id}/annotations", path(agent.id))).data?.map((a) => a.key)).toEqual(["region"]);
    expect(
      (await admin.DELETE("/agents/{id}/annotations/{key}", { params: { path: { id: agent.id, key: "region" } } })).response
        .status,
    ).toBe(204);
  });

  it("targets a stack to an agent, lists and removes the target", async () => {
    const gen = as(generator.pak);
    const stack = await createStack(broker, generator.pak);
    const target = await gen.POST("/agents/{id}/targets", {
      ...path(agent.id),
      body: { agent_id: agent.id, stack_id: stack.id },
    });
    expect(target.data).toMatchObject({ agent_id: agent.id, stack_id: stack.id });
    expect((await as(agent.pak).GET("/agents/{id}/targets", path(agent.id))).data?.map((t) => t.stack_id)).toContain(stack.id);
    const removed = await gen.DELETE("/agents/{id}/targets/{stack_id}", {
      params: { path: { id: agent.id, stack_id: stack.id } },
    });
    expect(removed.response.status).toBe(204);
  });

  it("serves the agent's own loop: target state, stacks, events, heartbeat, health", async () => {
    const self = as(agent.pak);
    const fresh = await self.GET("/agents/{id}/target-state", path(agent.id));
    expect(fresh.data?.map((o) => o.id)).toEqual([objectId]);
    expect((await self.GET("/agents/{id}/stacks", path(agent.id))).data?.map((s) => s.id)).toContain(stackId);
    const event = await self.POST("/agents/{id}/events", {
      ...path(agent.id),
      body: { agent_id: agent.id, deployment_object_id: objectId, event_type: "DEPLOY", status: "SUCCESS", message: "applied" },
    });
    expect(event.response.status).toBe(201);
    expect((await self.GET("/agents/{id}/target-state", path(agent.id))).data).toEqual([]);
    const full = await self.GET("/agents/{id}/target-state", { params: { path: { id: agent.id }, query: { mode: "full" } } });
    expect(full.data?.map((o) => o.id)).toEqual([objectId]);
    expect((await self.GET("/agents/{id}/events", path(agent.id))).data?.map((e) => e.status)).toContain("SUCCESS");
    const admin = as(broker.adminPak);
    expect((await admin.GET("/agent-events")).data?.map((e) => e.id)).toContain(event.data?.id);
    expect((await admin.GET("/agent-events/{id}", path(event.data?.id ?? ""))).data?.agent_id).toBe(agent.id);
    expect(
      (await self.POST("/agents/{id}/heartbeat", { ...path(agent.id), body: { k8s_reachable: true, k8s_api_latency_ms: 12 } }))
        .response.status,
    ).toBe(204);
    const health = await self.PATCH("/agents/{id}/health-status", {
      ...path(agent.id),
      body: {
        deployment_objects: [
          {
            id: objectId,
            status: "degraded",
            summary: { pods_total: 1, pods_ready: 0, conditions: [] },
            checked_at: new Date().toISOString(),
          },
        ],
      } as never,
    });
    expect(health.response.status).toBe(200);
    expect((await admin.GET("/deployment-objects/{id}/health", path(objectId))).data).toMatchObject({
      overall_status: "degraded",
    });
    expect((await admin.GET("/stacks/{id}/health", path(stackId))).data?.deployment_objects).toEqual([
      { id: objectId, status: "degraded", healthy_agents: 0, degraded_agents: 1, failing_agents: 0 },
    ]);
  });

  it("serves the fleet view and this broker's agent sockets to the admin only", async () => {
    const admin = as(broker.adminPak);
    const loner = await createAgent(broker);
    const socket = await connectBrokkrAgent(broker, agent.pak);
    await vi.waitFor(() => expect(broker.app.agentSockets.isStreaming(agent.id)).toBe(true));
    const ws = await admin.GET("/admin/ws/connections");
    expect(ws.data).toMatchObject({ connected_agents: 1, live_subscribers: 0 });
    expect(ws.data?.connections.map((c) => c.agent_id)).toEqual([agent.id]);
    const status = async () => (await admin.GET("/agents/{id}/fleet-status", path(agent.id))).data;
    await vi.waitFor(async () => expect((await status())?.record.ws_connected).toBe(true));
    const detail = await status();
    // The agent's loop test above acknowledged the object, reported it degraded and sent a heartbeat.
    expect(detail?.record).toMatchObject({
      agent_id: agent.id,
      status: "ACTIVE",
      pending_object_count: 0,
      pending_work_orders: 0,
      claimed_work_orders: 0,
      health_degraded: 1,
      health_failing: 0,
      k8s_reachable: true,
      k8s_api_latency_ms: 12,
    });
    expect(detail?.record.connected_since).not.toBeNull();
    expect(detail?.recent_events.map((e) => e.status)).toEqual(["SUCCESS"]);
    expect(detail?.record.last_event_at).toBe(detail?.recent_events[0]?.created_at);
    const fleet = (await admin.GET("/fleet")).data?.map((r) => r.agent_id);
    expect(fleet).toEqual(expect.arrayContaining([agent.id, loner.id]));
    const tenant = (await admin.GET("/fleet", { params: { query: { pak_id: generator.id } } })).data?.map((r) => r.agent_id);
    expect(tenant).toContain(agent.id);
    expect(tenant).not.toContain(loner.id);
    expect((await admin.GET("/agents/{id}/fleet-status", path(loner.id))).data?.record).toMatchObject({
      ws_connected: false,
      connected_since: null,
      last_heartbeat: null,
      heartbeat_age_seconds: null,
      last_event_at: null,
    });
    for (const pak of [agent.pak, generator.pak]) {
      expect((await as(pak).GET("/fleet")).error).toMatchObject({ code: "forbidden" });
      expect((await as(pak).GET("/agents/{id}/fleet-status", path(agent.id))).response.status).toBe(403);
      expect((await as(pak).GET("/admin/ws/connections")).response.status).toBe(403);
    }
    await socket.close();
    await vi.waitFor(async () => expect((await admin.GET("/admin/ws/connections")).data?.connections).toEqual([]));
  });

  it("manages stacks and their labels and annotations", async () => {
    const gen = as(generator.pak);
    const made = await gen.POST("/stacks", { body: { name: unique("web"), generator_id: generator.id } });
    expect(made.response.status).toBe(201);
    const id = made.data?.id ?? "";
    expect((await gen.GET("/stacks")).data?.map((s) => s.id)).toContain(id);
    expect((await as(agent.pak).GET("/stacks")).error).toMatchObject({ code: "stacks_list_denied" });
    expect((await gen.GET("/stacks/{id}", path(id))).data?.generator_id).toBe(generator.id);
    expect((await gen.PUT("/stacks/{id}", { ...path(id), body: { description: "front" } as never })).data?.description).toBe(
      "front",
    );
    expect((await gen.POST("/stacks/{id}/labels", { ...path(id), body: "prod" })).data).toMatchObject({
      stack_id: id,
      label: "prod",
    });
    expect((await gen.GET("/stacks/{id}/labels", path(id))).data?.map((l) => l.label)).toEqual(["prod"]);
    expect((await gen.DELETE("/stacks/{id}/labels/{label}", { params: { path: { id, label: "prod" } } })).response.status).toBe(
      204,
    );
    const note = await gen.POST("/stacks/{id}/annotations", { ...path(id), body: { stack_id: id, key: "team", value: "web" } });
    expect(note.data).toMatchObject({ key: "team", value: "web" });
    expect((await gen.GET("/stacks/{id}/annotations", path(id))).data?.map((a) => a.key)).toEqual(["team"]);
    expect((await gen.DELETE("/stacks/{id}/annotations/{key}", { params: { path: { id, key: "team" } } })).response.status).toBe(
      204,
    );
    expect((await gen.DELETE("/stacks/{id}", path(id))).response.status).toBe(204);
    expect((await gen.GET("/stacks/{id}", path(id))).response.status).toBe(404);
  });

  it("creates deployment objects from JSON and raw YAML, lists them, serves one as JSON or YAML", async () => {
    const gen = as(generator.pak);
    const stack = await createStack(broker, generator.pak);
    const json = await gen.POST("/stacks/{id}/deployment-objects", {
      ...path(stack.id),
      body: { yaml_content: CONFIGMAP_YAML("a"), is_deletion_marker: false },
    });
    expect(json.response.status).toBe(201);
    const yaml = CONFIGMAP_YAML("b");
    const raw = await gen.POST("/stacks/{id}/deployment-objects", {
      ...path(stack.id),
      body: yaml as never,
      bodySerializer: (b: unknown) => String(b),
      headers: { "content-type": "application/yaml" },
    });
    expect(raw.data).toMatchObject({ yaml_content: yaml, is_deletion_marker: false });
    const marker = await gen.POST("/stacks/{id}/deployment-objects", {
      params: { path: { id: stack.id }, query: { deletion_marker: true } },
      body: "" as never,
      bodySerializer: () => "",
      headers: { "content-type": "application/yaml" },
    });
    expect(marker.data).toMatchObject({ yaml_content: "", is_deletion_marker: true });
    expect((await gen.GET("/stacks/{id}/deployment-objects", path(stack.id))).data?.map((o) => o.id)).toEqual([
      json.data?.id,
      raw.data?.id,
      marker.data?.id,
    ]);
    expect((await as(agent.pak).GET("/deployment-objects/{id}", path(objectId))).data?.stack_id).toBe(stackId);
    const text = await gen.GET("/deployment-objects/{id}", {
      ...path(raw.data?.id ?? ""),
      headers: { accept: "application/yaml" },
      parseAs: "text",
    });
    expect(text.data).toBe(yaml);
  });

  it("serves a stack's telemetry history with Brokkr's retention metadata", async () => {
    const ts = new Date().toISOString();
    const involvedObject = { apiVersion: "v1", kind: "Pod", namespace: "default", name: "web-0" };
    const input = {
      events: [{ stackId, observedAt: ts, reason: "Pulled", message: "pulled", eventType: "Normal", involvedObject }],
      logs: [{ stackId, namespace: "default", pod: "web-0", container: "web", ts, line: "up" }],
    };
    await broker.gql(`mutation($input: ReportTelemetryInput!) { reportTelemetry(input: $input) { logs } }`, { input }, agent.pak);
    const gen = as(generator.pak);
    const events = await gen.GET("/stacks/{id}/events", { params: { path: { id: stackId }, query: { limit: 10 } } });
    expect(events.data?.events.map((e) => e.reason)).toEqual(["Pulled"]);
    expect(events.data?.retention).toMatchObject({ retention_ceiling_seconds: 21600, effective_retention_seconds: 21600 });
    const logs = await gen.GET("/stacks/{id}/logs", { params: { path: { id: stackId }, query: { since: ts } } });
    expect(logs.data?.lines.map((l) => l.line)).toEqual(["up"]);
    expect(logs.data?.retention.long_term_sink_hint).toContain("Datadog");
  });
  it("reloads the configuration for the admin only", async () => {
    const reload = await as(broker.adminPak).POST("/admin/config/reload");
    expect(reload.data).toMatchObject({ success: true, changes: [], message: "no settings changed" });
    for (const pak of [agent.pak, generator.pak]) {
      expect((await as(pak).POST("/admin/config/reload")).response.status).toBe(403);
    }
  });
});

describe("diagnostics (create_diagnostic_request … submit_diagnostic_result)", () => {
  const result = {
    pod_statuses: JSON.stringify([{ name: "web-1", phase: "Running" }]),
    events: "[]",
    log_tails: null,
    collected_at: new Date().toISOString(),
  };

  it("runs a request from the admin's POST through the agent's poll, claim and result to the admin's GET", async () => {
    const admin = as(broker.adminPak);
    const self = as(agent.pak);
    const made = await admin.POST("/deployment-objects/{id}/diagnostics", {
      ...path(objectId),
      body: { agent_id: agent.id, requested_by: "ops", retention_minutes: 30 },
    });
    expect(made.response.status).toBe(201);
    expect(made.data).toMatchObject({ status: "pending", requested_by: "ops", deployment_object_id: objectId });
    const id = made.data?.id ?? "";
    expect((await self.GET("/agents/{id}/diagnostics/pending", path(agent.id))).data?.map((r) => r.id)).toContain(id);
    expect((await self.POST("/diagnostics/{id}/claim", path(id))).data?.status).toBe("claimed");
    expect((await self.POST("/diagnostics/{id}/claim", path(id))).response.status).toBe(409);
    const submitted = await self.POST("/diagnostics/{id}/result", { ...path(id), body: result });
    expect(submitted.response.status).toBe(201);
    expect(submitted.data).toMatchObject({ request_id: id, events: "[]" });
    expect((await self.POST("/diagnostics/{id}/result", { ...path(id), body: result })).response.status).toBe(409);
    const read = await admin.GET("/diagnostics/{id}", path(id));
    expect(read.data?.request.status).toBe("completed");
    expect(read.data?.result?.pod_statuses).toBe(result.pod_statuses);
    expect((await self.GET("/diagnostics/{id}", path(id))).data?.request.id).toBe(id);
  });

  it("refuses bad retention with 400 naming retention_minutes, and callers other than the admin with 403", async () => {
    const admin = as(broker.adminPak);
    for (const retention_minutes of [0, 1441]) {
      const bad = await admin.POST("/deployment-objects/{id}/diagnostics", {
        ...path(objectId),
        body: { agent_id: agent.id, retention_minutes },
      });
      expect(bad.response.status).toBe(400);
      expect(bad.error).toMatchObject({ field: "retention_minutes" });
    }
    for (const pak of [agent.pak, generator.pak]) {
      const refused = await as(pak).POST("/deployment-objects/{id}/diagnostics", {
        ...path(objectId),
        body: { agent_id: agent.id },
      });
      expect(refused.response.status).toBe(403);
    }
    const unknown = "00000000-0000-4000-8000-000000000000";
    expect(
      (await admin.POST("/deployment-objects/{id}/diagnostics", { ...path(unknown), body: { agent_id: agent.id } })).response
        .status,
    ).toBe(404);
    expect((await admin.GET("/diagnostics/{id}", path(unknown))).response.status).toBe(404);
  });

  it("shows pending requests to their own agent only, and refuses a result before the claim with 409", async () => {
    const other = await createAgent(broker, { activate: true });
    const made = await as(broker.adminPak).POST("/deployment-objects/{id}/diagnostics", {
      ...path(objectId),
      body: { agent_id: agent.id },
    });
    const id = made.data?.id ?? "";
    for (const pak of [other.pak, broker.adminPak, generator.pak])
      expect((await as(pak).GET("/agents/{id}/diagnostics/pending", path(agent.id))).response.status).toBe(403);
    expect((await as(other.pak).POST("/diagnostics/{id}/claim", path(id))).response.status).toBe(403);
    expect((await as(agent.pak).POST("/diagnostics/{id}/result", { ...path(id), body: result })).response.status).toBe(409);
  });

  it("refuses a malformed request or result with 400 naming the field", async () => {
    const admin = as(broker.adminPak);
    const post = (body: unknown) =>
      admin.POST("/deployment-objects/{id}/diagnostics", { ...path(objectId), body: body as never });
    expect((await post({ agent_id: agent.id, retention_minutes: 1.5 })).error).toMatchObject({ field: "retention_minutes" });
    expect((await post({ agent_id: "nope" })).error).toMatchObject({ field: "agent_id" });
    const id = (await post({ agent_id: agent.id })).data?.id ?? "";
    const self = as(agent.pak);
    expect((await self.POST("/diagnostics/{id}/claim", path(id))).response.status).toBe(200);
    const submit = (body: unknown) => self.POST("/diagnostics/{id}/result", { ...path(id), body: body as never });
    expect((await submit({ ...result, collected_at: "yesterday" })).error).toMatchObject({ field: "collected_at" });
    expect((await submit({ events: "[]", collected_at: result.collected_at })).error).toMatchObject({ field: "pod_statuses" });
    expect((await submit({ ...result, pod_statuses: "{" })).error).toMatchObject({ field: "pod_statuses" });
  });

  it("refuses a claim after expiry with 409 diagnostic_expired", async () => {
    const made = await as(broker.adminPak).POST("/deployment-objects/{id}/diagnostics", {
      ...path(objectId),
      body: { agent_id: agent.id, retention_minutes: 1 },
    });
    const id = made.data?.id ?? "";
    await broker.db.sql.query(
      "UPDATE diagnostic_requests SET created_at = now() - interval '2 minutes', expires_at = now() - interval '1 second' WHERE id = $1",
      [id],
    );
    const late = await as(agent.pak).POST("/diagnostics/{id}/claim", path(id));
    expect([late.response.status, late.error?.code]).toEqual([409, "diagnostic_expired"]);
    expect((await as(broker.adminPak).GET("/diagnostics/{id}", path(id))).data?.request.status).toBe("expired");
  });
});

describe("Brokkr's work-order operations, validated against its OpenAPI spec", () => {
  const yaml = CONFIGMAP_YAML("job");
  const claimBody = () => ({ body: { agent_id: agent.id } });

  it("creates (also with the legacy target_agent_ids), lists, gets and deletes work orders, admin only", async () => {
    const admin = as(broker.adminPak);
    const made = await admin.POST("/work-orders", {
      body: { work_type: "apply", yaml_content: yaml, targeting: { labels: ["wo-conf"], annotations: { zone: "a" } } },
    });
    expect(made.response.status).toBe(201);
    expect(made.data).toMatchObject({ status: "PENDING", max_retries: 3, backoff_seconds: 60, claim_timeout_seconds: 3600 });
    const legacy = await admin.POST("/work-orders", {
      body: { work_type: "delete", yaml_content: yaml, target_agent_ids: [agent.id] },
    });
    expect(legacy.response.status).toBe(201);
    const none = await admin.POST("/work-orders", {
      body: { work_type: "apply", yaml_content: yaml, targeting: { labels: [] } },
    });
    expect(none.response.status).toBe(400);
    expect(none.error).toMatchObject({ code: "no_targeting_specified" });
    const bad = await admin.POST("/work-orders", {
      body: { work_type: "apply", yaml_content: "a: [", target_agent_ids: [agent.id] },
    });
    expect(bad.error).toMatchObject({ code: "invalid_work_order", details: { field: "yaml_content" } });
    for (const pak of [agent.pak, generator.pak]) {
      expect((await as(pak).POST("/work-orders", { body: { work_type: "x", yaml_content: yaml } })).response.status).toBe(403);
      expect((await as(pak).GET("/work-orders")).response.status).toBe(403);
      expect((await as(pak).GET("/work-orders/{id}", path(made.data?.id ?? ""))).response.status).toBe(403);
    }
    const ids = (await admin.GET("/work-orders", { params: { query: { status: "PENDING", work_type: "delete" } } })).data;
    expect(ids?.map((w) => w.id)).toEqual([legacy.data?.id]);
    expect((await admin.GET("/work-orders", { params: { query: { status: "DONE" } } })).data).toEqual([]);
    expect((await admin.GET("/work-orders/{id}", path(made.data?.id ?? ""))).data?.work_type).toBe("apply");
    expect((await admin.DELETE("/work-orders/{id}", path(made.data?.id ?? ""))).response.status).toBe(204);
    expect((await admin.GET("/work-orders/{id}", path(made.data?.id ?? ""))).error).toMatchObject({
      code: "work_order_not_found",
    });
    expect((await admin.DELETE("/work-orders/{id}", path(made.data?.id ?? ""))).response.status).toBe(404);
    expect((await admin.DELETE("/work-orders/{id}", path(legacy.data?.id ?? ""))).response.status).toBe(204);
  });

  it("lists an agent's pending orders, claims one, refuses a second claim and another agent's list", async () => {
    const admin = as(broker.adminPak);
    const self = as(agent.pak);
    const order = (
      await admin.POST("/work-orders", { body: { work_type: "apply", yaml_content: yaml, target_agent_ids: [agent.id] } })
    ).data;
    const id = order?.id ?? "";
    const pending = await self.GET("/agents/{agent_id}/work-orders/pending", { params: { path: { agent_id: agent.id } } });
    expect(pending.data?.map((w) => w.id)).toContain(id);
    const other = await createAgent(broker, { activate: true });
    const peek = await as(other.pak).GET("/agents/{agent_id}/work-orders/pending", { params: { path: { agent_id: agent.id } } });
    expect(peek.response.status).toBe(403);
    expect((await as(other.pak).POST("/work-orders/{id}/claim", { ...path(id), ...claimBody() })).error).toMatchObject({
      code: "agent_pak_mismatch",
    });
    const claimed = await self.POST("/work-orders/{id}/claim", { ...path(id), ...claimBody() });
    expect(claimed.data).toMatchObject({ id, status: "CLAIMED", claimed_by: agent.id });
    const again = await self.POST("/work-orders/{id}/claim", { ...path(id), ...claimBody() });
    expect(again.response.status).toBe(404);
    expect(again.error).toMatchObject({ code: "work_order_not_claimable" });
    const notMine = await as(other.pak).POST("/work-orders/{id}/complete", { ...path(id), body: { success: true } });
    expect(notMine.error).toMatchObject({ code: "work_order_not_claimed_by_agent" });
    const done = await self.POST("/work-orders/{id}/complete", { ...path(id), body: { success: true, message: "ok" } });
    expect(done.data).toMatchObject({ id, success: true, result_message: "ok", retries_attempted: 0, claimed_by: agent.id });
    expect((await self.POST("/work-orders/{id}/complete", { ...path(id), body: { success: true } })).response.status).toBe(404);
  });

  it("answers a retryable failure with Brokkr's 202 retry_scheduled, then logs the final failure", async () => {
    const admin = as(broker.adminPak);
    const self = as(agent.pak);
    const order = await admin.POST("/work-orders", {
      body: { work_type: "custom", yaml_content: yaml, max_retries: 1, backoff_seconds: 1, target_agent_ids: [agent.id] },
    });
    const id = order.data?.id ?? "";
    await self.POST("/work-orders/{id}/claim", { ...path(id), ...claimBody() });
    // Brokkr's spec leaves the 202 out (its generators want one success type), so this call goes
    // around the spec-checking client; its body is Brokkr's.
    const retry = await fetch(`${broker.url}/api/v1/work-orders/${id}/complete`, {
      method: "POST",
      headers: { authorization: agent.pak, "content-type": "application/json" },
      body: JSON.stringify({ success: false, message: "flaky" }),
    });
    expect(retry.status).toBe(202);
    expect(await retry.json()).toEqual({ status: "retry_scheduled" });
    const queued = (await admin.GET("/work-orders/{id}", path(id))).data;
    expect(queued).toMatchObject({ status: "RETRY_PENDING", retry_count: 1, last_error: "flaky", claimed_by: null });
    await broker.db.sql.query("UPDATE work_orders SET next_retry_after = now() WHERE id = $1", [id]);
    await broker.app.scheduler.runNow("work-order-maintenance");
    await self.POST("/work-orders/{id}/claim", { ...path(id), ...claimBody() });
    const failed = await self.POST("/work-orders/{id}/complete", {
      ...path(id),
      body: { success: false, message: "flaky again" },
    });
    expect(failed.data).toMatchObject({ id, success: false, retries_attempted: 1, result_message: "flaky again" });
    // As Brokkr, the admin still reads a finished order by its id, from the log.
    expect((await admin.GET("/work-orders/{id}", path(id))).data).toMatchObject({
      id,
      status: "FAILED",
      retry_count: 1,
      last_error: "flaky again",
    });
  });

  it("lists and reads the log with Brokkr's filters, admin only", async () => {
    const admin = as(broker.adminPak);
    const all = (await admin.GET("/work-order-log", { params: { query: { agent_id: agent.id } } })).data ?? [];
    expect(all.length).toBeGreaterThanOrEqual(2);
    const failures = (await admin.GET("/work-order-log", { params: { query: { success: false, work_type: "custom" } } })).data;
    expect(failures?.map((e) => e.success)).toEqual([false]);
    expect((await admin.GET("/work-order-log", { params: { query: { limit: 1 } } })).data).toHaveLength(1);
    const first = all[0]?.id ?? "";
    expect((await admin.GET("/work-order-log/{id}", path(first))).data?.id).toBe(first);
    const missing = await admin.GET("/work-order-log/{id}", path("00000000-0000-4000-8000-000000000000"));
    expect(missing.error).toMatchObject({ code: "work_order_log_entry_not_found" });
    expect((await as(agent.pak).GET("/work-order-log")).response.status).toBe(403);
    expect((await as(generator.pak).GET("/work-order-log/{id}", path(first))).response.status).toBe(403);
  });
});

describe("stack templates over Brokkr's REST API v1", () => {
  const schema = JSON.stringify({ type: "object", properties: { name: { type: "string" } }, required: ["name"] });
  const body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ name }}\n";

  it("creates, lists, reads, versions and deletes templates", async () => {
    const gen = as(generator.pak);
    const made = await gen.POST("/templates", {
      body: { name: unique("tpl"), template_content: body, parameters_schema: schema },
    });
    expect(made.response.status).toBe(201);
    expect(made.data).toMatchObject({ generator_id: generator.id, version: 1, template_content: body });
    const id = made.data?.id ?? "";
    expect((await gen.GET("/templates")).data?.map((t) => t.id)).toContain(id);
    expect((await gen.GET("/templates/{id}", path(id))).data?.checksum).toMatch(/^[0-9a-f]{64}$/);
    const v2 = await gen.PUT("/templates/{id}", {
      ...path(id),
      body: { template_content: `${body}data: {}\n`, parameters_schema: schema },
    });
    expect(v2.response.status).toBe(200);
    expect(v2.data).toMatchObject({ name: made.data?.name, version: 2 });
    expect((await as(agent.pak).GET("/templates")).error).toMatchObject({ code: "templates_not_accessible" });
    const bad = await gen.POST("/templates", {
      body: { name: unique("tpl"), template_content: "{% if %}", parameters_schema: schema },
    });
    expect(bad.error).toMatchObject({ code: "invalid_template_syntax", field: "template_content" });
    expect((await gen.DELETE("/templates/{id}", path(id))).response.status).toBe(204);
    expect((await gen.GET("/templates/{id}", path(id))).response.status).toBe(404);
  });

  it("manages template labels and annotations", async () => {
    const gen = as(generator.pak);
    const made = await gen.POST("/templates", {
      body: { name: unique("tpl"), template_content: body, parameters_schema: schema },
    });
    const id = made.data?.id ?? "";
    expect((await gen.POST("/templates/{id}/labels", { ...path(id), body: "prod" })).data).toMatchObject({
      template_id: id,
      label: "prod",
    });
    expect((await gen.GET("/templates/{id}/labels", path(id))).data?.map((l) => l.label)).toEqual(["prod"]);
    const removeLabel = { params: { path: { id, label: "prod" } } };
    expect((await gen.DELETE("/templates/{id}/labels/{label}", removeLabel)).response.status).toBe(204);
    expect((await gen.DELETE("/templates/{id}/labels/{label}", removeLabel)).response.status).toBe(404);
    const note = await gen.POST("/templates/{id}/annotations", { ...path(id), body: { key: "team", value: "web" } });
    expect(note.data).toMatchObject({ template_id: id, key: "team", value: "web" });
    expect((await gen.GET("/templates/{id}/annotations", path(id))).data?.map((a) => a.key)).toEqual(["team"]);
    const removeNote = { params: { path: { id, key: "team" } } };
    expect((await gen.DELETE("/templates/{id}/annotations/{key}", removeNote)).response.status).toBe(204);
  });

  it("instantiates a template into a stack, refusing mismatched stacks and bad parameters", async () => {
    const gen = as(generator.pak);
    const made = await gen.POST("/templates", {
      body: { name: unique("tpl"), template_content: body, parameters_schema: schema },
    });
    const templateId = made.data?.id ?? "";
    await gen.POST("/templates/{id}/labels", { ...path(templateId), body: "prod" });
    const at = (id: string) => ({ params: { path: { stack_id: id } } });
    const plain = await createStack(broker, generator.pak);
    const url = "/stacks/{stack_id}/deployment-objects/from-template";
    const mismatch = await gen.POST(url, { ...at(plain.id), body: { template_id: templateId, parameters: { name: "web" } } });
    expect(mismatch.response.status).toBe(422);
    expect(mismatch.error).toMatchObject({ code: "template_stack_mismatch" });
    const prod = await createStack(broker, generator.pak, { labels: ["prod"] });
    const invalid = await gen.POST(url, { ...at(prod.id), body: { template_id: templateId, parameters: {} } });
    expect(invalid.error).toMatchObject({ code: "invalid_parameters", field: "parameters.name" });
    const object = await gen.POST(url, { ...at(prod.id), body: { template_id: templateId, parameters: { name: "web" } } });
    expect(object.response.status).toBe(201);
    expect(object.data).toMatchObject({
      stack_id: prod.id,
      yaml_content: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
    });
    const other = await createGenerator(broker);
    const hidden = await as(other.pak).POST(url, {
      ...at(prod.id),
      body: { template_id: templateId, parameters: { name: "web" } },
    });
    expect(hidden.response.status).toBe(403);
  });
});

webhookConformance(() => ({ broker, as, generator }));

describe("audit log (list_audit_logs)", () => {
  it("lists the mutations made above, newest first, for the admin only", async () => {
    await broker.app.audit.flush();
    const admin = as(broker.adminPak);
    const all = await admin.GET("/admin/audit-logs", { params: { query: { limit: 5 } } });
    expect(all.data).toMatchObject({ count: 5, limit: 5, offset: 0 });
    expect(all.data?.total).toBeGreaterThan(5);
    const stacks = await admin.GET("/admin/audit-logs", {
      params: { query: { action: "stack.*", actor_type: "generator", actor_id: generator.id, resource_id: stackId } },
    });
    expect(stacks.data?.logs.map((l) => l.action)).toContain("stack.created");
    const page = await admin.GET("/admin/audit-logs", { params: { query: { from: "2000-01-01T00:00:00Z", offset: 1 } } });
    expect(page.data?.offset).toBe(1);
    expect((await admin.GET("/admin/audit-logs", { params: { query: { limit: 5000 } } })).data?.limit).toBe(1000);
    for (const pak of [agent.pak, generator.pak])
      expect((await as(pak).GET("/admin/audit-logs")).error).toMatchObject({ code: "forbidden" });
  });
});
