import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import {
  createGenerator,
  createObject,
  createStack,
  registerAgent,
  reportEvent,
  setAgentStatus,
  targetStack,
  targetStateStackIds,
} from "../../test/factories.js";
import { buildWorld } from "../../test/world.js";
import { mintPak } from "./pak.js";

let broker: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker();
});

const ids = (conn: { edges: { node: { id: string } }[] }) => conn.edges.map((e) => e.node.id).sort();

async function me(authorization: string | null) {
  const res = await fetch(`${broker.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorization !== null ? { authorization } : {}) },
    body: JSON.stringify({ query: "{ me { role id } }" }),
  });
  return (await res.json()) as {
    data?: { me: { role: string; id: string | null } } | null;
    errors?: { extensions?: { code?: string } }[];
  };
}

describe("identity", () => {
  it("refuses a malformed PAK with UNAUTHENTICATED", async () => {
    for (const bad of ["Bearer nonsense", "brokkr_BRshort_abc", `Bearer ${broker.adminPak}!`, "Bearer "]) {
      expect((await me(bad)).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    }
  });

  it("refuses a well-formed but unknown PAK with UNAUTHENTICATED", async () => {
    const result = await me(`Bearer ${mintPak().pak}`);
    expect(result.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(result.data ?? null).toBeNull();
  });

  it("accepts a bare PAK as well as a Bearer PAK", async () => {
    const gen = await createGenerator(broker);
    expect((await me(gen.pak)).data?.me).toEqual({ role: "GENERATOR", id: gen.id });
    expect((await me(`Bearer ${gen.pak}`)).data?.me).toEqual({ role: "GENERATOR", id: gen.id });
    expect((await me(`Bearer ${broker.adminPak}`)).data?.me).toEqual({ role: "ADMIN", id: null });
  });
});

describe("what a generator sees", () => {
  it("lists only its own stacks and refuses another generator's filter", async () => {
    const w = await buildWorld(broker);
    const other = await createStack(broker, w.genB.pak);
    const mine = ok(await broker.gql(`{ stacks(first: 500) { edges { node { id } } } }`, {}, w.genA.pak));
    expect(ids(mine.stacks)).toEqual([w.stack.id]);
    const theirs = await broker.gql(
      `query($g: ID) { stacks(filter: { generatorId: $g }) { edges { node { id } } } }`,
      { g: w.genB.id },
      w.genA.pak,
    );
    expect(errorCode(theirs)).toBe("FORBIDDEN");
    expect(ids(ok(await broker.gql(`{ stacks(first: 500) { edges { node { id } } } }`, {}, w.genB.pak)).stacks)).toEqual([
      other.id,
    ]);
  });

  it("lists only itself among generators and only the agents registered with it", async () => {
    const w = await buildWorld(broker);
    const data = ok(
      await broker.gql(`{ generators { edges { node { id } } } agents(first: 500) { edges { node { id } } } }`, {}, w.genA.pak),
    );
    expect(ids(data.generators)).toEqual([w.genA.id]);
    expect(ids(data.agents)).toEqual([w.agentA.id]);
  });

  it("sees an agent's targets and registrations filtered to its own", async () => {
    const w = await buildWorld(broker);
    await registerAgent(broker, w.agentA.id, w.genB.id);
    const foreign = await createStack(broker, w.genB.pak);
    await targetStack(broker, w.agentA.id, foreign.id);
    const q = `query($id: ID!) { agent(id: $id) { targets { id } registeredGenerators { id } } }`;
    const asGen = ok(await broker.gql(q, { id: w.agentA.id }, w.genA.pak));
    expect(asGen.agent.targets.map((s: { id: string }) => s.id)).toEqual([w.stack.id]);
    expect(asGen.agent.registeredGenerators.map((g: { id: string }) => g.id)).toEqual([w.genA.id]);
    const asAdmin = ok(await broker.gql(q, { id: w.agentA.id }));
    expect(asAdmin.agent.targets.map((s: { id: string }) => s.id).sort()).toEqual([w.stack.id, foreign.id].sort());
  });

  it("targets its own stack only at an agent registered with it", async () => {
    const w = await buildWorld(broker);
    const refused = await broker.gql(
      `mutation($a: ID!, $s: ID!) { targetStack(input: { agentId: $a, stackId: $s }) { agent { id } } }`,
      { a: w.agentB.id, s: w.stack.id },
      w.genA.pak,
    );
    expect(errorCode(refused)).toBe("FORBIDDEN");
    expect(await targetStateStackIds(broker, w.agentB.id)).toEqual([]);
    await targetStack(broker, w.agentA.id, (await createStack(broker, w.genA.pak)).id, w.genA.pak);
  });
});

describe("what an agent sees", () => {
  it("lists only itself among agents and only its associated stacks", async () => {
    const w = await buildWorld(broker);
    await createStack(broker, w.genA.pak);
    const data = ok(
      await broker.gql(
        `{ agents(first: 500) { edges { node { id } } } stacks(first: 500) { edges { node { id } } } }`,
        {},
        w.agentA.pak,
      ),
    );
    expect(ids(data.agents)).toEqual([w.agentA.id]);
    expect(ids(data.stacks)).toEqual([w.stack.id]);
  });

  it("sees only itself among a stack's targeted agents", async () => {
    const w = await buildWorld(broker);
    await targetStack(broker, w.agentB.id, w.stack.id);
    const q = `query($id: ID!) { stack(id: $id) { targetedAgents { id } } }`;
    expect(ok(await broker.gql(q, { id: w.stack.id }, w.agentA.pak)).stack.targetedAgents).toEqual([{ id: w.agentA.id }]);
    expect(ok(await broker.gql(q, { id: w.stack.id })).stack.targetedAgents).toHaveLength(2);
  });

  it("sees only its associated stacks through a generator", async () => {
    const w = await buildWorld(broker);
    const hidden = await createStack(broker, w.genA.pak);
    await createObject(broker, w.genA.pak, hidden.id);
    const data = ok(
      await broker.gql(
        `query($id: ID!) { stack(id: $id) { generator { stacks { edges { node { id } } } } } agent(id: "${w.agentA.id}") { registeredGenerators { stacks { edges { node { id } } } } } }`,
        { id: w.stack.id },
        w.agentA.pak,
      ),
    );
    expect(ids(data.stack.generator.stacks)).toEqual([w.stack.id]);
    expect(ids(data.agent.registeredGenerators[0].stacks)).toEqual([w.stack.id]);
  });

  it("sees only its own events on a deployment object", async () => {
    const w = await buildWorld(broker);
    await targetStack(broker, w.agentB.id, w.stack.id);
    const mine = await reportEvent(broker, w.agentA.pak, w.object.id);
    await reportEvent(broker, w.agentB.pak, w.object.id, "FAILURE");
    const q = `query($id: ID!) { deploymentObject(id: $id) { events { edges { node { id } } } } }`;
    expect(ids(ok(await broker.gql(q, { id: w.object.id }, w.agentA.pak)).deploymentObject.events)).toEqual([mine.id]);
    expect(ok(await broker.gql(q, { id: w.object.id }, w.genA.pak)).deploymentObject.events.edges).toHaveLength(2);
  });

  it("cannot report an event on an object of a stack that does not reach it", async () => {
    const w = await buildWorld(broker);
    const result = await broker.gql(
      `mutation($o: ID!) { reportAgentEvent(input: { deploymentObjectId: $o, status: SUCCESS }) { event { id } } }`,
      { o: w.object.id },
      w.agentB.pak,
    );
    expect(errorCode(result)).toBe("NOT_FOUND");
  });

  it("gets an empty target state while inactive, and its stacks once an admin activates it", async () => {
    const w = await buildWorld(broker);
    await setAgentStatus(broker, w.agentA.id, "INACTIVE");
    expect(await targetStateStackIds(broker, w.agentA.id, w.agentA.pak)).toEqual([]);
    expect(await targetStateStackIds(broker, w.agentA.id)).toEqual([]);
    await setAgentStatus(broker, w.agentA.id, "ACTIVE");
    expect(await targetStateStackIds(broker, w.agentA.id, w.agentA.pak)).toEqual([w.stack.id]);
  });

  it("reads no deployment objects while inactive", async () => {
    const w = await buildWorld(broker);
    await setAgentStatus(broker, w.agentA.id, "INACTIVE");
    const list = ok(
      await broker.gql(`{ stacks { edges { node { id latestDeploymentObject { yamlContent } } } } }`, {}, w.agentA.pak),
    );
    expect(list.stacks.edges).toEqual([]);
    const one = await broker.gql(
      `query($id: ID!) { deploymentObject(id: $id) { yamlContent } }`,
      { id: w.object.id },
      w.agentA.pak,
    );
    expect(errorCode(one)).toBe("FORBIDDEN");
  });
});
