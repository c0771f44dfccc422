import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, createObject, createStack, targetStack, unique } from "../../test/factories.js";

let broker: TestBroker;
let counting = false;
let statements = 0;
const original = pg.Client.prototype.query;

/**
 * Counts every statement the broker's own pool sends: Prisma's pg adapter runs plain queries
 * through pool.query and transactions through a checked-out client, both of which end in
 * Client#query; the broker's pool connects as application_name "brokkr-broker".
 */
function countBrokerStatements() {
  pg.Client.prototype.query = function (this: pg.Client & { connectionParameters?: { application_name?: string } }, ...args: unknown[]) {
    if (counting && this.connectionParameters?.application_name === "brokkr-broker" && !isBackground(args[0])) statements++;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
}

/** The delivery feed's own once-a-second horizon read and batched NOTIFY: not the request's statements. */
function isBackground(query: unknown): boolean {
  const text = typeof query === "string" ? query : (query as { text?: string } | undefined)?.text;
  return /brokkr_delivery_horizon\(\)|NOTIFY brokkr_objects/.test(text ?? "");
}

async function statementsFor(query: string, variables: Record<string, unknown>) {
  statements = 0;
  counting = true;
  try {
    return { data: ok(await broker.gql(query, variables)), statements };
  } finally {
    counting = false;
  }
}

async function seedStacks(count: number, gen: { pak: string }, agents: { id: string }[]) {
  const label = unique("page");
  for (let i = 0; i < count; i++) {
    const stack = await createStack(broker, gen.pak, { labels: [label, "common"], annotations: [{ key: "i", value: String(i) }] });
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
  countBrokerStatements();
});

afterAll(() => {
  pg.Client.prototype.query = original;
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
    const more = await statementsFor(`query($id: ID!) { stack(id: $id) { id labels annotations { key } latestDeploymentObject { id } } }`, { id: stack.id });
    expect(more.statements).toBeGreaterThan(one.statements);
  });
});
