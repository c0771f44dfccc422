import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import {
  createAgent,
  createGenerator,
  createObject,
  createStack,
  deleteStack,
  registerAgent,
  reportEvent,
  setAgentStatus,
  targetStack,
  targetStateStackIds,
  unique,
} from "../../test/factories.js";

let broker: TestBroker;
let gen: { id: string; pak: string };

beforeAll(async () => {
  broker = await startTestBroker();
  gen = await createGenerator(broker);
});

const ME = `{ me { role id } }`;
const AGENT = `query($id: ID!) { agent(id: $id) { id name clusterName status labels annotations { key value } lastHeartbeat k8sReachable k8sApiLatencyMs deletedAt } }`;
const LIST = `query($f: AgentFilter, $first: Int, $after: String) {
  agents(filter: $f, first: $first, after: $after) { edges { cursor node { id name } } pageInfo { hasNextPage endCursor } } }`;
const names = (conn: { edges: { node: { name: string } }[] }) => conn.edges.map((e) => e.node.name);

describe("agents", () => {
  it("creates an agent INACTIVE, with its labels and annotations", async () => {
    const agent = await createAgent(broker, { labels: ["edge"], annotations: [{ key: "zone", value: "eu" }] });
    expect(ok(await broker.gql(ME, {}, agent.pak)).me).toEqual({ role: "AGENT", id: agent.id });
    const data = ok(await broker.gql(AGENT, { id: agent.id }, agent.pak));
    expect(data.agent).toMatchObject({
      status: "INACTIVE",
      labels: ["edge"],
      annotations: [{ key: "zone", value: "eu" }],
      lastHeartbeat: null,
    });
  });

  it("lets an active agent rename itself", async () => {
    const agent = await createAgent(broker, { activate: true });
    const name = unique("renamed");
    const data = ok(
      await broker.gql(
        `mutation($id: ID!, $n: String!) { updateAgent(input: { id: $id, name: $n }) { agent { name status } } }`,
        { id: agent.id, n: name },
        agent.pak,
      ),
    );
    expect(data.updateAgent.agent).toEqual({ name, status: "ACTIVE" });
  });

  it("refuses an agent's own status change and leaves it INACTIVE", async () => {
    const agent = await createAgent(broker);
    const result = await broker.gql(
      `mutation($id: ID!) { updateAgent(input: { id: $id, status: ACTIVE }) { agent { status } } }`,
      { id: agent.id },
      agent.pak,
    );
    expect(errorCode(result)).toBe("FORBIDDEN");
    expect(ok(await broker.gql(AGENT, { id: agent.id })).agent.status).toBe("INACTIVE");
  });

  it("records a heartbeat with the cluster's reachability", async () => {
    const agent = await createAgent(broker, { activate: true });
    ok(
      await broker.gql(
        `mutation { heartbeat(input: { k8sReachable: true, k8sApiLatencyMs: 12 }) { agent { id } } }`,
        {},
        agent.pak,
      ),
    );
    const data = ok(await broker.gql(AGENT, { id: agent.id }, agent.pak));
    expect(data.agent).toMatchObject({ k8sReachable: true, k8sApiLatencyMs: 12 });
    expect(new Date(data.agent.lastHeartbeat).getTime()).not.toBeNaN();
  });

  it("pages through agents and filters them by label, annotation and status", async () => {
    const label = unique("fleet");
    const a = await createAgent(broker, { labels: [label], annotations: [{ key: "zone", value: "eu" }], activate: true });
    const b = await createAgent(broker, { labels: [label] });
    const c = await createAgent(broker, { labels: [label], annotations: [{ key: "zone", value: "us" }] });
    const first = ok(await broker.gql(LIST, { f: { labels: [label] }, first: 2 })).agents;
    expect(first.pageInfo.hasNextPage).toBe(true);
    const rest = ok(await broker.gql(LIST, { f: { labels: [label] }, first: 2, after: first.pageInfo.endCursor })).agents;
    expect(rest.pageInfo.hasNextPage).toBe(false);
    expect([...names(first), ...names(rest)]).toEqual([a.name, b.name, c.name].sort());
    expect(
      names(ok(await broker.gql(LIST, { f: { labels: [label], annotations: [{ key: "zone", value: "eu" }] } })).agents),
    ).toEqual([a.name]);
    expect(names(ok(await broker.gql(LIST, { f: { labels: [label], status: "INACTIVE" } })).agents)).toEqual(
      [b.name, c.name].sort(),
    );
    expect(errorCode(await broker.gql(LIST, { after: "bogus" }))).toBe("BAD_USER_INPUT");
  });

  it("rotates an agent's PAK: the old one stops working and the new one works", async () => {
    const agent = await createAgent(broker, { activate: true });
    const data = ok(
      await broker.gql(`mutation($id: ID!) { rotateAgentPak(input: { id: $id }) { pak } }`, { id: agent.id }, agent.pak),
    );
    expect(errorCode(await broker.gql(ME, {}, agent.pak))).toBe("UNAUTHENTICATED");
    expect(ok(await broker.gql(ME, {}, data.rotateAgentPak.pak)).me).toEqual({ role: "AGENT", id: agent.id });
  });

  it("soft-deletes an agent: it disappears, its PAK stops working, includeDeleted still shows it", async () => {
    const label = unique("del");
    const agent = await createAgent(broker, { labels: [label] });
    ok(await broker.gql(`mutation($id: ID!) { deleteAgent(input: { id: $id }) { deletedId } }`, { id: agent.id }));
    expect(errorCode(await broker.gql(AGENT, { id: agent.id }))).toBe("NOT_FOUND");
    expect(errorCode(await broker.gql(ME, {}, agent.pak))).toBe("UNAUTHENTICATED");
    expect(ok(await broker.gql(LIST, { f: { labels: [label] } })).agents.edges).toEqual([]);
    expect(names(ok(await broker.gql(LIST, { f: { labels: [label], includeDeleted: true } })).agents)).toEqual([agent.name]);
  });

  it("hard-deletes an agent and all that hangs on it", async () => {
    const label = unique("hard");
    const agent = await createAgent(broker, { labels: [label], activate: true });
    const stack = await createStack(broker, gen.pak);
    const object = await createObject(broker, gen.pak, stack.id);
    await targetStack(broker, agent.id, stack.id);
    await reportEvent(broker, agent.pak, object.id);
    ok(await broker.gql(`mutation($id: ID!) { deleteAgent(input: { id: $id, hard: true }) { deletedId } }`, { id: agent.id }));
    expect(ok(await broker.gql(LIST, { f: { labels: [label], includeDeleted: true } })).agents.edges).toEqual([]);
    const { rows } = await broker.db.sql.query(
      `SELECT (SELECT count(*) FROM agent_targets WHERE agent_id = $1)::int + (SELECT count(*) FROM agent_events WHERE agent_id = $1)::int AS n`,
      [agent.id],
    );
    expect(rows[0].n).toBe(0);
  });

  it("lists an agent's events newest first with pagination", async () => {
    const agent = await createAgent(broker, { activate: true });
    const stack = await createStack(broker, gen.pak);
    await targetStack(broker, agent.id, stack.id);
    const reported = [];
    for (let i = 0; i < 3; i++)
      reported.push((await reportEvent(broker, agent.pak, (await createObject(broker, gen.pak, stack.id, `a: ${i}\n`)).id)).id);
    const q = `query($id: ID!, $after: String) { agent(id: $id) { events(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } } }`;
    const p1 = ok(await broker.gql(q, { id: agent.id }, agent.pak)).agent.events;
    const p2 = ok(await broker.gql(q, { id: agent.id, after: p1.pageInfo.endCursor }, agent.pak)).agent.events;
    expect([p1.pageInfo.hasNextPage, p2.pageInfo.hasNextPage]).toEqual([true, false]);
    expect([...p1.edges, ...p2.edges].map((e: { node: { id: string } }) => e.node.id)).toEqual([...reported].reverse());
    const forged = Buffer.from(JSON.stringify(["abc", "def"])).toString("base64url");
    expect(errorCode(await broker.gql(q, { id: agent.id, after: forged }, agent.pak))).toBe("BAD_USER_INPUT");
  });
});

describe("target state", () => {
  it("stays empty until an admin activates the agent", async () => {
    const agent = await createAgent(broker);
    const stack = await createStack(broker, gen.pak);
    await createObject(broker, gen.pak, stack.id);
    await targetStack(broker, agent.id, stack.id);
    expect(await targetStateStackIds(broker, agent.id, agent.pak)).toEqual([]);
    await setAgentStatus(broker, agent.id, "ACTIVE");
    expect(await targetStateStackIds(broker, agent.id, agent.pak)).toEqual([stack.id]);
  });

  it("holds only the latest object of each stack", async () => {
    const agent = await createAgent(broker, { activate: true });
    const stack = await createStack(broker, gen.pak);
    await createObject(broker, gen.pak, stack.id, "a: 1\n");
    const latest = await createObject(broker, gen.pak, stack.id, "a: 2\n");
    await targetStack(broker, agent.id, stack.id);
    const data = ok(
      await broker.gql(
        `query($a: ID!) { targetState(agentId: $a) { stackId deploymentObject { id yamlContent } } }`,
        { a: agent.id },
        agent.pak,
      ),
    );
    expect(data.targetState).toEqual([{ stackId: stack.id, deploymentObject: { id: latest.id, yamlContent: "a: 2\n" } }]);
  });

  it("includes stacks matched by label or annotation only while the agent is registered with their generator", async () => {
    const label = unique("match");
    const agent = await createAgent(broker, { activate: true, labels: [label], annotations: [{ key: label, value: "v" }] });
    const byLabel = await createStack(broker, gen.pak, { labels: [label] });
    const byAnnotation = await createStack(broker, gen.pak, { annotations: [{ key: label, value: "v" }] });
    const other = await createGenerator(broker);
    const foreign = await createStack(broker, other.pak, { labels: [label] });
    for (const s of [byLabel, byAnnotation]) await createObject(broker, gen.pak, s.id);
    await createObject(broker, other.pak, foreign.id);
    expect(await targetStateStackIds(broker, agent.id, agent.pak)).toEqual([]);
    await registerAgent(broker, agent.id, gen.id);
    expect(await targetStateStackIds(broker, agent.id, agent.pak)).toEqual([byLabel.id, byAnnotation.id].sort());
    ok(
      await broker.gql(
        `mutation($a: ID!, $g: ID!) { deregisterAgent(input: { agentId: $a, generatorId: $g }) { agent { id } } }`,
        { a: agent.id, g: gen.id },
      ),
    );
    expect(await targetStateStackIds(broker, agent.id, agent.pak)).toEqual([]);
  });

  it("drops an untargeted stack", async () => {
    const agent = await createAgent(broker, { activate: true });
    const stack = await createStack(broker, gen.pak);
    await createObject(broker, gen.pak, stack.id);
    await targetStack(broker, agent.id, stack.id);
    ok(
      await broker.gql(`mutation($a: ID!, $s: ID!) { untargetStack(input: { agentId: $a, stackId: $s }) { agent { id } } }`, {
        a: agent.id,
        s: stack.id,
      }),
    );
    expect(await targetStateStackIds(broker, agent.id, agent.pak)).toEqual([]);
  });

  it("includes the deletion marker of a stack deleted after it was targeted", async () => {
    const agent = await createAgent(broker, { activate: true });
    const stack = await createStack(broker, gen.pak);
    await createObject(broker, gen.pak, stack.id);
    await targetStack(broker, agent.id, stack.id);
    const { deletionMarker } = await deleteStack(broker, stack.id, { pak: gen.pak });
    const data = ok(
      await broker.gql(
        `query($a: ID!) { targetState(agentId: $a) { stackId deploymentObject { id isDeletionMarker yamlContent } } }`,
        { a: agent.id },
        agent.pak,
      ),
    );
    expect(data.targetState).toEqual([
      { stackId: stack.id, deploymentObject: { id: deletionMarker!.id, isDeletionMarker: true, yamlContent: "" } },
    ]);
  });
});
