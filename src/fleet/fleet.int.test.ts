import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { countBrokerStatements } from "../../test/count-statements.js";
import {
  createAgent,
  createGenerator,
  createObject,
  createStack,
  reportEvent,
  targetStack,
  targetedAgent,
} from "../../test/factories.js";
import { AgentPresence } from "./presence.js";
import { nextOpened, waitUntil, watchDeployments, watchLive } from "../../test/subscriptions.js";

let broker: TestBroker;
let other: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker();
  other = await startTestBroker({}, broker.db);
});

const STATUS = `connection since brokerId lastHeartbeat heartbeatAgeSeconds k8sReachable k8sApiLatencyMs pendingObjects
  lastEvent { id status deploymentObject { id } } health { healthy degraded failing unknown }`;

interface Status {
  connection: "WEBSOCKET" | "REST" | "OFFLINE";
  since: string | null;
  brokerId: string | null;
  heartbeatAgeSeconds: number | null;
  k8sReachable: boolean | null;
  k8sApiLatencyMs: number | null;
  pendingObjects: number;
  lastEvent: { id: string; status: string; deploymentObject: { id: string } } | null;
  health: { healthy: number; degraded: number; failing: number; unknown: number };
}

async function fleetOf(on: TestBroker, labels: string[], pak = on.adminPak) {
  return on.gql<{ fleet: { edges: { node: Status & { agent: { id: string } } }[] } }>(
    `query($labels: [String!]) { fleet(filter: { labels: $labels }) { edges { node { agent { id } ${STATUS} } } } }`,
    { labels },
    pak,
  );
}

async function statusOf(on: TestBroker, agentId: string): Promise<Status> {
  const data = ok(
    await on.gql<{ agent: { fleetStatus: Status } }>(`query($id: ID!) { agent(id: $id) { fleetStatus { ${STATUS} } } }`, {
      id: agentId,
    }),
  );
  return data.agent.fleetStatus;
}

function brokerIdOf(b: TestBroker): string {
  const presence = b.app.delivery.presence;
  if (!(presence instanceof AgentPresence)) throw new Error("the broker records no presence");
  return presence.brokerId;
}

async function patchHealth(agent: { id: string; pak: string }, entries: { id: string; status: string }[]) {
  const res = await fetch(`${broker.url}/api/v1/agents/${agent.id}/health-status`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${agent.pak}`, "content-type": "application/json" },
    body: JSON.stringify({ deployment_objects: entries.map((e) => ({ ...e, checked_at: new Date().toISOString() })) }),
  });
  expect(res.status).toBe(200);
}

describe("fleet", () => {
  it("is the admin's only: a generator and an agent are refused with FORBIDDEN", async () => {
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker, { activate: true });
    expect(errorCode(await fleetOf(broker, [], gen.pak))).toBe("FORBIDDEN");
    expect(errorCode(await fleetOf(broker, [], agent.pak))).toBe("FORBIDDEN");
    const own = await broker.gql(
      `query($id: ID!) { agent(id: $id) { fleetStatus { connection } } }`,
      { id: agent.id },
      agent.pak,
    );
    expect(errorCode(own)).toBe("FORBIDDEN");
  });

  it("counts pending objects, health of the latest objects and the last event", async () => {
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker, { activate: true, labels: ["fleet-counts"] });
    const objects = [];
    for (let i = 0; i < 3; i++) {
      const stack = await createStack(broker, gen.pak);
      await targetStack(broker, agent.id, stack.id);
      objects.push(await createObject(broker, gen.pak, stack.id));
    }
    const [a, b, c] = objects.map((o) => o.id);
    if (!a || !b || !c) throw new Error("three objects expected");
    const event = await reportEvent(broker, agent.pak, a, "FAILURE");
    await patchHealth(agent, [
      { id: a, status: "healthy" },
      { id: b, status: "failing" },
      { id: c, status: "degraded" },
    ]);
    ok(
      await broker.gql(
        `mutation { heartbeat(input: { k8sReachable: true, k8sApiLatencyMs: 12 }) { agent { id } } }`,
        {},
        agent.pak,
      ),
    );
    const [row] = ok(await fleetOf(broker, ["fleet-counts"])).fleet.edges;
    expect(row?.node).toMatchObject({
      agent: { id: agent.id },
      connection: "REST",
      k8sReachable: true,
      k8sApiLatencyMs: 12,
      pendingObjects: 2,
      lastEvent: { id: event.id, status: "FAILURE", deploymentObject: { id: a } },
      health: { healthy: 1, degraded: 1, failing: 1, unknown: 0 },
    });
    expect(row?.node.heartbeatAgeSeconds).toBeGreaterThanOrEqual(0);
  });

  it("shows nothing pending for an inactive agent, and OFFLINE without a heartbeat", async () => {
    const { agent, gen, stack } = await targetedAgent(broker);
    await createObject(broker, gen.pak, stack.id);
    ok(
      await broker.gql(`mutation($id: ID!) { updateAgent(input: { id: $id, status: INACTIVE }) { agent { id } } }`, {
        id: agent.id,
      }),
    );
    expect(await statusOf(broker, agent.id)).toMatchObject({
      connection: "OFFLINE",
      since: null,
      pendingObjects: 0,
      lastEvent: null,
      heartbeatAgeSeconds: null,
    });
  });

  it("sees an agent's websocket from every broker, and its close from every broker", async () => {
    const { agent } = await targetedAgent(broker);
    const watch = await watchLive(broker, agent);
    await waitUntil(
      async () => (await statusOf(other, agent.id)).connection === "WEBSOCKET",
      () => "no websocket seen from the other broker",
    );
    const open = await statusOf(other, agent.id);
    expect(open.brokerId).toBe(brokerIdOf(broker));
    expect(Date.parse(open.since ?? "")).toBeGreaterThan(0);
    await watch.stop();
    await waitUntil(
      async () => (await statusOf(other, agent.id)).connection === "OFFLINE",
      () => "the close was not seen",
    );
    const closed = await statusOf(other, agent.id);
    expect(Date.parse(closed.since ?? "")).toBeGreaterThanOrEqual(Date.parse(open.since ?? ""));
    expect(closed.brokerId).toBeNull();
  });

  it("does not count an admin watching an agent's stream as the agent's connection", async () => {
    const { agent } = await targetedAgent(broker);
    const self = await createAgent(broker, { activate: true });
    const opened = nextOpened(broker, `agentDeployments:${agent.id}`);
    const watch = watchDeployments(broker.url, broker.adminPak, "0", agent.id);
    await opened;
    // The agent's own stream, opened after the admin's, is the sentinel: once it shows, the admin's write would have too.
    const own = await watchLive(broker, self);
    await waitUntil(
      async () => (await statusOf(broker, self.id)).connection === "WEBSOCKET",
      () => "own stream not seen",
    );
    expect((await statusOf(broker, agent.id)).connection).toBe("OFFLINE");
    await Promise.all([watch.stop(), own.stop()]);
  });

  it("treats the websocket rows of a broker that stopped refreshing as gone", async () => {
    const { agent } = await targetedAgent(other);
    const watch = await watchLive(other, agent);
    await waitUntil(
      async () => (await statusOf(broker, agent.id)).connection === "WEBSOCKET",
      () => "no websocket seen",
    );
    await broker.db.sql.query("UPDATE broker_instances SET seen_at = now() - interval '1 minute' WHERE id = $1", [
      brokerIdOf(other),
    ]);
    expect(await statusOf(broker, agent.id)).toMatchObject({ connection: "OFFLINE", brokerId: null });
    await watch.stop();
    await broker.db.sql.query("UPDATE broker_instances SET seen_at = now() WHERE id = $1", [brokerIdOf(other)]);
  });

  it("reads a page of many agents in as many statements as a page of one", async () => {
    const gen = await createGenerator(broker);
    for (let i = 0; i < 6; i++) {
      const agent = await createAgent(broker, { activate: true, labels: [i === 0 ? "fleet-one" : "fleet-many"] });
      const stack = await createStack(broker, gen.pak);
      await targetStack(broker, agent.id, stack.id);
      await reportEvent(broker, agent.pak, (await createObject(broker, gen.pak, stack.id)).id);
    }
    await fleetOf(broker, ["fleet-one"]);
    const one = await countBrokerStatements(() => fleetOf(broker, ["fleet-one"]));
    const many = await countBrokerStatements(() => fleetOf(broker, ["fleet-many"]));
    expect(ok(one.result).fleet.edges).toHaveLength(1);
    expect(ok(many.result).fleet.edges).toHaveLength(5);
    expect(many.statements).toBe(one.statements);
  });
});
