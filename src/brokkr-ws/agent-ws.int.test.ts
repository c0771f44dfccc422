import { beforeAll, describe, expect, it, vi } from "vitest";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { connectBrokkrAgent, metricValue } from "../../test/brokkr-agent.js";
import {
  createAgent,
  createGenerator,
  createObject,
  createStack,
  registerAgent,
  setAgentStatus,
  targetedAgent,
  unique,
} from "../../test/factories.js";
import { NIL_UUID } from "./wire.js";

// Two brokers on one database: an agent on one hears of commits made through the other.
let a: TestBroker;
let b: TestBroker;
beforeAll(async () => {
  a = await startTestBroker();
  b = await startTestBroker({}, a.db);
});

const row = async (sql: string, params: unknown[]) => (await a.db.sql.query(sql, params)).rows[0];
const placeholderTimes = { created_at: "1970-01-01T00:00:00Z", updated_at: "1970-01-01T00:00:00Z" };

describe("pushes to Brokkr's agent", () => {
  it("sends stack_changed with the Stack row when an object is created for a stack targeted at it", async () => {
    const { gen, agent, stack } = await targetedAgent(a);
    // Brokkr's Rust SDK and agent send the PAK raw.
    const socket = await connectBrokkrAgent(a, agent.pak);
    await createObject(a, gen.pak, stack.id);
    await socket.until((f) => f.length === 1);
    expect(socket.frames[0]).toMatchObject({
      type: "stack_changed",
      body: { id: stack.id, name: stack.name, generator_id: gen.id, deleted_at: null },
    });
    await socket.close();
  });

  it("also reaches an agent the stack matches by label (Brokkr pushes only to explicit targets)", async () => {
    const gen = await createGenerator(a);
    const agent = await createAgent(a, { activate: true, labels: ["edge"] });
    await registerAgent(a, agent.id, gen.id);
    const stack = await createStack(a, gen.pak, { labels: ["edge"] });
    const socket = await connectBrokkrAgent(a, `Bearer ${agent.pak}`);
    await createObject(a, gen.pak, stack.id);
    await socket.until((f) => f.some((x) => x.type === "stack_changed" && x.body.id === stack.id));
    await socket.close();
  });

  it("sends target_changed when a stack stops reaching the agent", async () => {
    const { agent, stack } = await targetedAgent(a);
    const socket = await connectBrokkrAgent(a, agent.pak);
    await vi.waitFor(() => expect(a.app.agentSockets.isStreaming(agent.id)).toBe(true));
    ok(
      await a.gql(`mutation($a: ID!, $s: ID!) { untargetStack(input: { agentId: $a, stackId: $s }) { agent { id } } }`, {
        a: agent.id,
        s: stack.id,
      }),
    );
    await socket.until((f) => f.length === 1);
    expect(socket.frames[0]).toEqual({ type: "target_changed", body: { id: NIL_UUID, agent_id: agent.id, stack_id: stack.id } });
    await socket.close();
  });

  it("hears of an object committed through another broker", async () => {
    const { gen, agent, stack } = await targetedAgent(a);
    const socket = await connectBrokkrAgent(b, agent.pak);
    await createObject(a, gen.pak, stack.id);
    await socket.until((f) => f.some((x) => x.type === "stack_changed" && x.body.id === stack.id));
    await socket.close();
  });
});

describe("frames Brokkr's agent sends", () => {
  it("stores a heartbeat, an event and a health entry through the same services as REST", async () => {
    const { gen, agent, stack } = await targetedAgent(a);
    const object = await createObject(a, gen.pak, stack.id);
    const socket = await connectBrokkrAgent(a, agent.pak);
    socket.send("heartbeat", {
      agent_id: agent.id,
      sent_at: new Date().toISOString(),
      k8s_reachable: true,
      k8s_api_latency_ms: 12,
    });
    socket.send("agent_event", {
      id: NIL_UUID,
      agent_id: agent.id,
      deployment_object_id: object.id,
      event_type: "DEPLOY",
      status: "SUCCESS",
      message: "applied",
      ...placeholderTimes,
    });
    socket.send("agent_health", {
      id: NIL_UUID,
      agent_id: agent.id,
      deployment_object_id: object.id,
      status: "healthy",
      summary: `{"pods_ready":1}`,
      checked_at: new Date().toISOString(),
      ...placeholderTimes,
    });
    await vi.waitFor(async () =>
      expect(await row(`SELECT status FROM deployment_health WHERE agent_id = $1`, [agent.id])).toEqual({ status: "healthy" }),
    );
    expect(
      await row(`SELECT k8s_reachable, k8s_api_latency_ms, last_heartbeat IS NOT NULL AS beat FROM agents WHERE id = $1`, [
        agent.id,
      ]),
    ).toEqual({ k8s_reachable: true, k8s_api_latency_ms: 12, beat: true });
    expect(await row(`SELECT event_type, status, message FROM agent_events WHERE agent_id = $1`, [agent.id])).toEqual({
      event_type: "DEPLOY",
      status: "SUCCESS",
      message: "applied",
    });
    // The event acknowledges the object: Brokkr's incremental target state omits it now.
    const state = await fetch(`${a.url}/api/v1/agents/${agent.id}/target-state?mode=incremental`, {
      headers: { authorization: agent.pak },
    });
    expect(await state.json()).toEqual([]);
    await socket.close();
  });

  it("drops frames naming another agent, outside its stacks or not decodable, and keeps the socket", async () => {
    const { gen, agent, stack } = await targetedAgent(a);
    const other = await targetedAgent(a);
    const foreign = await createObject(a, other.gen.pak, other.stack.id);
    const own = await createObject(a, gen.pak, stack.id);
    const socket = await connectBrokkrAgent(a, agent.pak);
    const event = (objectId: string, message: string, agentId = agent.id) => ({
      id: NIL_UUID,
      agent_id: agentId,
      deployment_object_id: objectId,
      event_type: "DEPLOY",
      status: "SUCCESS",
      message,
      ...placeholderTimes,
    });
    socket.send("heartbeat", { agent_id: other.agent.id, sent_at: new Date().toISOString() });
    socket.send("agent_event", event(own.id, "as the other agent", other.agent.id));
    socket.send("agent_event", event(foreign.id, "an object of a stack that does not reach it"));
    socket.ws.send("not json");
    socket.ws.send(Buffer.from([1, 2, 3]));
    socket.send("no_such_variant", { agent_id: agent.id });
    socket.send("agent_event", event(own.id, "sentinel"));
    // Control frames are written in order: once the sentinel is in, the others were decided.
    await vi.waitFor(async () =>
      expect(await row(`SELECT count(*)::int AS n FROM agent_events WHERE message = 'sentinel'`, [])).toEqual({ n: 1 }),
    );
    expect(
      await row(`SELECT count(*)::int AS n FROM agent_events WHERE agent_id IN ($1, $2)`, [agent.id, other.agent.id]),
    ).toEqual({ n: 1 });
    expect(await row(`SELECT last_heartbeat FROM agents WHERE id = $1`, [other.agent.id])).toEqual({ last_heartbeat: null });
    expect(await metricValue(a, `brokkr_ws_uplink_dropped_total{reason="not_found"}`)).toBeGreaterThanOrEqual(1);
    expect(socket.ws.readyState).toBe(socket.ws.OPEN);
    await socket.close();
  });

  it("refuses an inactive agent's writes, pushes it nothing, and starts pushing once it is activated", async () => {
    const gen = await createGenerator(a);
    const agent = await createAgent(a);
    const stack = await createStack(a, gen.pak, { name: unique("inactive") });
    ok(
      await a.gql(`mutation($a: ID!, $s: ID!) { targetStack(input: { agentId: $a, stackId: $s }) { agent { id } } }`, {
        a: agent.id,
        s: stack.id,
      }),
    );
    const object = await createObject(a, gen.pak, stack.id);
    const socket = await connectBrokkrAgent(a, agent.pak);
    await vi.waitFor(() => expect(a.app.agentSockets.isStreaming(agent.id)).toBe(true));
    const refusedBefore = await metricValue(a, `brokkr_ws_uplink_dropped_total{reason="forbidden"}`);
    socket.send("heartbeat", { agent_id: agent.id, sent_at: new Date().toISOString() });
    await vi.waitFor(async () =>
      expect(await metricValue(a, `brokkr_ws_uplink_dropped_total{reason="forbidden"}`)).toBe(refusedBefore + 1),
    );
    expect(await row(`SELECT last_heartbeat FROM agents WHERE id = $1`, [agent.id])).toEqual({ last_heartbeat: null });
    await setAgentStatus(a, agent.id, "ACTIVE");
    // Activation sends the latest object of each stack reaching it; nothing came before.
    await socket.until((f) => f.length >= 1);
    expect(socket.frames).toEqual([
      expect.objectContaining({ type: "stack_changed", body: expect.objectContaining({ id: stack.id }) }),
    ]);
    socket.send("agent_event", {
      id: NIL_UUID,
      agent_id: agent.id,
      deployment_object_id: object.id,
      event_type: "DEPLOY",
      status: "SUCCESS",
      ...placeholderTimes,
    });
    await vi.waitFor(async () =>
      expect(await row(`SELECT count(*)::int AS n FROM agent_events WHERE agent_id = $1`, [agent.id])).toEqual({ n: 1 }),
    );
    await socket.close();
  });
});
