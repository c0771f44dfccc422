import { beforeAll, describe, expect, it } from "vitest";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import {
  createAgent,
  createGenerator,
  createObject,
  createStack,
  registerAgent,
  targetStack,
  targetStateStackIds,
} from "../../test/factories.js";
import { watchDeployments } from "../../test/subscriptions.js";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});

const deregister = async (agentId: string, generatorId: string) =>
  ok(
    await broker.gql(`mutation($a: ID!, $g: ID!) { deregisterAgent(input: { agentId: $a, generatorId: $g }) { agent { id } } }`, {
      a: agentId,
      g: generatorId,
    }),
  );

const untarget = (agentId: string, stackId: string, pak: string) =>
  broker.gql(
    `mutation($a: ID!, $s: ID!) { untargetStack(input: { agentId: $a, stackId: $s }) { agent { id } } }`,
    { a: agentId, s: stackId },
    pak,
  );

const targetsOf = async (agentId: string) =>
  ok(
    await broker.gql<{ agent: { targets: { id: string }[] } }>(`query($id: ID!) { agent(id: $id) { targets { id } } }`, {
      id: agentId,
    }),
  ).agent.targets.map((s) => s.id);

/** A registered agent, one stack its generator targeted at it and one the admin targeted (the sentinel). */
async function fixture() {
  const gen = await createGenerator(broker);
  const agent = await createAgent(broker, { activate: true });
  await registerAgent(broker, agent.id, gen.id);
  const byGenerator = await createStack(broker, gen.pak);
  const byAdmin = await createStack(broker, gen.pak);
  await targetStack(broker, agent.id, byGenerator.id, gen.pak);
  await targetStack(broker, agent.id, byAdmin.id);
  for (const s of [byGenerator, byAdmin]) await createObject(broker, gen.pak, s.id);
  const watch = watchDeployments(broker.url, agent.pak);
  await watch.until((e) => e.length === 2);
  return { gen, agent, byGenerator, byAdmin, watch };
}

describe("withdrawing consent (deregisterAgent)", () => {
  it("stops the generator's own targets delivering at once; the admin's targets keep delivering", async () => {
    const { gen, agent, byGenerator, byAdmin, watch } = await fixture();
    await deregister(agent.id, gen.id);
    await watch.until((e) => e.some((x) => x.type === "UNTARGETED" && x.stackId === byGenerator.id));
    await createObject(broker, gen.pak, byGenerator.id);
    const sentinel = await createObject(broker, gen.pak, byAdmin.id);
    await watch.until((e) => e.some((x) => x.deploymentObject?.id === sentinel.id));
    expect(watch.events.filter((x) => x.stackId === byGenerator.id).map((x) => x.type)).toEqual(["DEPLOY", "UNTARGETED"]);
    expect(await targetStateStackIds(broker, agent.id)).toEqual([byAdmin.id]);
    await watch.stop();
  });

  it("lets the generator remove its own target after the agent deregistered, but not add one", async () => {
    const { gen, agent, byGenerator, watch } = await fixture();
    await watch.stop();
    await deregister(agent.id, gen.id);
    ok(await untarget(agent.id, byGenerator.id, gen.pak));
    expect(await targetsOf(agent.id)).not.toContain(byGenerator.id);
    const again = await broker.gql(
      `mutation($a: ID!, $s: ID!) { targetStack(input: { agentId: $a, stackId: $s }) { agent { id } } }`,
      { a: agent.id, s: byGenerator.id },
      gen.pak,
    );
    expect(again.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  it("restores the generator's targets when the agent registers again", async () => {
    const { gen, agent, byGenerator, watch } = await fixture();
    await deregister(agent.id, gen.id);
    await watch.until((e) => e.some((x) => x.type === "UNTARGETED" && x.stackId === byGenerator.id));
    await registerAgent(broker, agent.id, gen.id);
    await watch.until((e) => e.filter((x) => x.type === "DEPLOY" && x.stackId === byGenerator.id).length === 2);
    await watch.stop();
  });

  it("keeps a target the admin took over from the generator", async () => {
    const { gen, agent, byGenerator, watch } = await fixture();
    await targetStack(broker, agent.id, byGenerator.id);
    await deregister(agent.id, gen.id);
    const latest = await createObject(broker, gen.pak, byGenerator.id);
    await watch.until((e) => e.some((x) => x.deploymentObject?.id === latest.id));
    expect(watch.events.some((x) => x.type === "UNTARGETED")).toBe(false);
    await watch.stop();
  });
});
