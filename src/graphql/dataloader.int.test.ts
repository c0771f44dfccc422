import { beforeAll, describe, expect, it } from "vitest";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, createObject, createStack, targetStack, unique } from "../../test/factories.js";
import { countBrokerStatements } from "../../test/count-statements.js";

let broker: TestBroker;
/** Statements of the broker's pool for one request (test/count-statements.ts says which count). */
async function statementsFor(query: string, variables: Record<string, unknown>) {
  const { result, statements } = await countBrokerStatements(() => broker.gql(query, variables));
  return { data: ok(result), statements };
}

async function seedStacks(count: number, gen: { pak: string }, agents: { id: string }[]) {
  const label = unique("page");
  for (let i = 0; i < count; i++) {
    const stack = await createStack(broker, gen.pak, {
      labels: [label, "common"],
      annotations: [{ key: "i", value: String(i) }],
    });
    await createObject(broker, gen.pak, stack.id);
    await targetStack(broker, agents[i % agents.length]!.id, stack.id);
  }
  return label;
}

const PAGE = `query($label: String!, $first: Int!) {
  stacks(filter: { labels: [$label] }, first: $first) {
    edges { node {
      id name labels annotations { key value }
      generator { id name }
      latestDeploymentObject { id sequenceId yamlChecksum }
      targetedAgents { id name labels status }
    } }
    pageInfo { hasNextPage }
  } }`;

beforeAll(async () => {
  broker = await startTestBroker();
});

describe("DataLoader batching", () => {
  it("answers a page of 50 stacks with as many statements as a page of 5", async () => {
    const gen = await createGenerator(broker);
    const agents = [await createAgent(broker, { labels: ["x"] }), await createAgent(broker), await createAgent(broker)];
    const small = await seedStacks(5, gen, agents);
    const large = await seedStacks(50, gen, agents);

    const five = await statementsFor(PAGE, { label: small, first: 5 });
    const fifty = await statementsFor(PAGE, { label: large, first: 50 });

    expect(five.data.stacks.edges).toHaveLength(5);
    expect(fifty.data.stacks.edges).toHaveLength(50);
    for (const { node } of fifty.data.stacks.edges) {
      expect(node.labels).toEqual(["common", large].sort());
      expect(node.latestDeploymentObject).not.toBeNull();
      expect(node.targetedAgents).toHaveLength(1);
    }
    expect(five.statements).toBeGreaterThan(0);
    expect(fifty.statements).toBe(five.statements);
  });

  it("counts statements at all, so that the comparison above can fail", async () => {
    const gen = await createGenerator(broker);
    const stack = await createStack(broker, gen.pak);
    const one = await statementsFor(`query($id: ID!) { stack(id: $id) { id } }`, { id: stack.id });
    const more = await statementsFor(
      `query($id: ID!) { stack(id: $id) { id labels annotations { key } latestDeploymentObject { id } } }`,
      { id: stack.id },
    );
    expect(more.statements).toBeGreaterThan(one.statements);
  });
});
