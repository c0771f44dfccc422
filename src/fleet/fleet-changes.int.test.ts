import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { listenTo } from "../../test/db.js";
import {
  createAgent,
  createGenerator,
  createObject,
  createStack,
  registerAgent,
  reportEvent,
  targetStack,
} from "../../test/factories.js";
import { assertConforms } from "../../test/openapi/spec.js";
import { nextOpened, watchLive, wsClient } from "../../test/subscriptions.js";
import { createUser } from "../../test/users.js";

let broker: TestBroker;
let other: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker();
  other = await startTestBroker({}, broker.db);
});

interface Change {
  kind: string;
  agentId: string;
  status: {
    connection: string;
    heartbeatAgeSeconds: number | null;
    k8sApiLatencyMs: number | null;
    lastEvent: { status: string } | null;
    health: { healthy: number; failing: number };
  };
}

const FLEET_CHANGES = `subscription { fleetChanges { kind agentId status {
  connection heartbeatAgeSeconds k8sApiLatencyMs lastEvent { status } health { healthy failing } } } }`;

/** A fleetChanges subscription on `on`, resolved once the broker has registered it. */
async function watchFleet(on: TestBroker, pak: string) {
  const changes: Change[] = [];
  const client = wsClient(on.url, pak);
  const opened = nextOpened(on, "fleetChanges:*");
  client.subscribe(
    { query: FLEET_CHANGES },
    { next: (m) => changes.push((m.data as { fleetChanges: Change }).fleetChanges), error: () => {}, complete: () => {} },
  );
  await opened;
  const of = (agentId: string, kind: string) => changes.find((c) => c.agentId === agentId && c.kind === kind);
  return {
    changes,
    async until(agentId: string, kind: string): Promise<Change> {
      await vi.waitFor(() => expect(of(agentId, kind), `${kind} of ${agentId}`).toBeTruthy(), { timeout: 15_000 });
      return of(agentId, kind) as Change;
    },
    stop: () => client.dispose(),
  };
}

async function targeted() {
  const gen = await createGenerator(broker);
  const agent = await createAgent(broker, { activate: true });
  await registerAgent(broker, agent.id, gen.id);
  const stack = await createStack(broker, gen.pak);
  await targetStack(broker, agent.id, stack.id);
  const object = await createObject(broker, gen.pak, stack.id);
  return { gen, agent, stack, object };
}

describe("fleetChanges", () => {
  it("tells a viewer of an agent connecting and disconnecting on another broker", async () => {
    const viewer = await createUser(broker, "VIEWER");
    const fleet = await watchFleet(broker, viewer.pak);
    const agent = await createAgent(broker, { activate: true });
    const watch = await watchLive(other, agent);
    expect((await fleet.until(agent.id, "CONNECTED")).status.connection).toBe("WEBSOCKET");
    await watch.stop();
    expect((await fleet.until(agent.id, "DISCONNECTED")).status.connection).toBe("OFFLINE");
    await fleet.stop();
  });

  it("tells a viewer of an agent created on another broker at once, before anyone activates it", async () => {
    const watch = await watchFleet(broker, broker.adminPak);
    const agent = await createAgent(other);
    const change = await watch.until(agent.id, "UPDATED");
    expect(change.status.connection).toBe("OFFLINE");
    watch.stop();
  });

  it("carries heartbeats, reported events and health reports with the agent's status after each", async () => {
    const { agent, object } = await targeted();
    const fleet = await watchFleet(broker, broker.adminPak);
    ok(
      await other.gql(
        `mutation { heartbeat(input: { k8sReachable: true, k8sApiLatencyMs: 7 }) { agent { id } } }`,
        {},
        agent.pak,
      ),
    );
    const beat = await fleet.until(agent.id, "HEARTBEAT");
    expect(beat.status.k8sApiLatencyMs).toBe(7);
    expect(beat.status.heartbeatAgeSeconds).toBeGreaterThanOrEqual(0);
    await reportEvent(other, agent.pak, object.id, "FAILURE");
    expect((await fleet.until(agent.id, "EVENT")).status.lastEvent?.status).toBe("FAILURE");
    const res = await fetch(`${other.url}/api/v1/agents/${agent.id}/health-status`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${agent.pak}`, "content-type": "application/json" },
      body: JSON.stringify({
        deployment_objects: [{ id: object.id, status: "failing", summary: {}, checked_at: new Date().toISOString() }],
      }),
    });
    expect(res.status).toBe(200);
    expect((await fleet.until(agent.id, "HEALTH")).status.health.failing).toBe(1);
    await fleet.stop();
  });

  it("hears a heartbeat written by plain SQL (heartbeats are read by polling, not told by the API)", async () => {
    const agent = await createAgent(broker, { activate: true });
    const fleet = await watchFleet(broker, broker.adminPak);
    await broker.app.database.pool.query("UPDATE agents SET last_heartbeat = now() WHERE id = $1", [agent.id]);
    await fleet.until(agent.id, "HEARTBEAT");
    await fleet.stop();
  });
});

describe("fleet notification triggers (migration 0016)", () => {
  let listener: Awaited<ReturnType<typeof listenTo>>;
  let heard: string[] = [];
  beforeAll(async () => {
    listener = await listenTo(broker.db.url, "brokkr_fleet");
    heard = listener.payloads;
  });
  afterAll(() => listener.end());

  it("notifies once per agent for a health report of many rows, and not at all for heartbeats", async () => {
    const { agent, gen, stack } = await targeted();
    const second = await createObject(broker, gen.pak, stack.id);
    const first = (
      await broker.app.database.pool.query<{ id: string }>("SELECT id FROM deployment_objects WHERE stack_id = $1 AND id <> $2", [
        stack.id,
        second.id,
      ])
    ).rows[0]!.id;
    const pool = broker.app.database.pool;
    await pool.query("UPDATE agents SET last_heartbeat = now() WHERE id = $1", [agent.id]);
    await pool.query(
      `INSERT INTO deployment_health (agent_id, deployment_object_id, status, checked_at)
       VALUES ($1, $2, 'healthy', now()), ($1, $3, 'failing', now())`,
      [agent.id, first, second.id],
    );
    const sentinel = "connection:00000000-0000-4000-8000-000000000000";
    await pool.query("SELECT pg_notify('brokkr_fleet', $1)", [sentinel]);
    await vi.waitFor(() => expect(heard).toContain(sentinel), { timeout: 15_000 });
    const mine = heard.filter((p) => p.endsWith(agent.id));
    // Heartbeats take no commit lock for a NOTIFY (migration 0016); the report is one notification,
    // after the one that told of the agent's creation (migration 0018).
    expect(mine).toEqual([`agent:${agent.id}`, `health:${agent.id}`]);
  });
});

/** Opens /api/v1/fleet/live; resolves with the socket once open, or the HTTP status of a refused upgrade. */
function openLive(on: TestBroker, headers: Record<string, string>, protocols?: string[]) {
  return new Promise<{ ws: WebSocket } | { status: number }>((resolve) => {
    const ws = new WebSocket(`${on.url.replace(/^http/, "ws")}/api/v1/fleet/live`, protocols, { headers });
    ws.on("open", () => resolve({ ws }));
    ws.on("unexpected-response", (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.on("error", () => {});
  });
}

describe("/api/v1/fleet/live", () => {
  it("refuses a missing or malformed key with 401, and a generator's or agent's with 403, at the upgrade", async () => {
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker, { activate: true });
    expect(await openLive(broker, {})).toEqual({ status: 401 });
    expect(await openLive(broker, { authorization: "Bearer nope" })).toEqual({ status: 401 });
    expect(await openLive(broker, { authorization: gen.pak })).toEqual({ status: 403 });
    expect(await openLive(broker, { authorization: `Bearer ${agent.pak}` })).toEqual({ status: 403 });
  });

  it("pushes Brokkr's fleet_update frame, a FleetAgentRecord, on a heartbeat at another broker", async () => {
    const agent = await createAgent(broker, { activate: true });
    const opened = nextOpened(broker, "fleetChanges:*");
    const live = await openLive(broker, { authorization: broker.adminPak });
    if (!("ws" in live)) throw new Error(`refused: ${live.status}`);
    await opened;
    const frames: { type: string; body: { agent_id: string } }[] = [];
    live.ws.on("message", (data) => frames.push(JSON.parse(String(data))));
    ok(await other.gql(`mutation { heartbeat(input: { k8sReachable: false }) { agent { id } } }`, {}, agent.pak));
    await vi.waitFor(() => expect(frames.some((f) => f.body.agent_id === agent.id)).toBe(true), { timeout: 15_000 });
    const frame = frames.find((f) => f.body.agent_id === agent.id)!;
    expect(frame.type).toBe("fleet_update");
    assertConforms("GET", "/fleet", 200, [frame.body]);
    expect(frame.body).toMatchObject({ agent_id: agent.id, k8s_reachable: false, ws_connected: false });
    const res = await fetch(`${broker.url}/api/v1/admin/ws/connections`, { headers: { authorization: broker.adminPak } });
    const view = await res.json();
    assertConforms("GET", "/admin/ws/connections", res.status, view);
    expect(view.live_subscribers).toBe(1);
    live.ws.close();
  });

  it("takes a browser's key from the subprotocol, answers brokkr.v1, and closes with 4401 when the user is deleted", async () => {
    const viewer = await createUser(broker, "VIEWER");
    const opened = nextOpened(other, "fleetChanges:*");
    const live = await openLive(other, {}, [`brokkr.pak.${viewer.pak}`, "brokkr.v1"]);
    if (!("ws" in live)) throw new Error(`refused: ${live.status}`);
    expect(live.ws.protocol).toBe("brokkr.v1");
    await opened;
    const closed = new Promise<number>((resolve) => live.ws.on("close", (code) => resolve(code)));
    ok(await broker.gql(`mutation($i: DeleteUserInput!) { deleteUser(input: $i) { deletedId } }`, { i: { id: viewer.id } }));
    expect(await closed).toBe(4401);
  });
});
