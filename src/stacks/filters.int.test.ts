import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { countBrokerStatements } from "../../test/count-statements.js";
import { createAgent, createGenerator, createStack, unique } from "../../test/factories.js";
import { MAX_LIST_ARGUMENT } from "../validation.js";

let broker: TestBroker;
let gen: { id: string; pak: string };

beforeAll(async () => {
  broker = await startTestBroker();
  gen = await createGenerator(broker);
});

const STACKS = `query($f: StackFilter) { stacks(filter: $f, first: 500) { edges { node { id } } } }`;
const AGENTS = `query($f: AgentFilter) { agents(filter: $f, first: 500) { edges { node { id } } } }`;
const ids = (conn: { edges: { node: { id: string } }[] }) => conn.edges.map((e) => e.node.id).sort();
const labelsOf = (n: number, prefix = unique("f")) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe("label and annotation filters", () => {
  it(`refuse ${MAX_LIST_ARGUMENT + 1} labels or annotations before any query but the caller's identity`, async () => {
    const tooMany = labelsOf(MAX_LIST_ARGUMENT + 1);
    for (const [doc, f, field] of [
      [STACKS, { labels: tooMany }, "$f.labels"],
      [STACKS, { annotations: tooMany.map((k) => ({ key: k, value: "v" })) }, "$f.annotations"],
      [AGENTS, { labels: tooMany }, "$f.labels"],
    ] as const) {
      // Uncached, the caller's key lookup is the one statement allowed (auth/identity-cache.ts).
      broker.app.identities.cache.clear();
      const { result, statements } = await countBrokerStatements(() => broker.gql(doc, { f }, gen.pak));
      // The GraphQL layer refuses the list (the same MAX_LIST_ARGUMENT the service checks for REST).
      expect(errorCode(result)).toBe("LIST_TOO_LONG");
      expect(result.errors?.[0]?.extensions?.field).toBe(field);
      expect(statements).toBe(1);
    }
  });

  it(`match ${MAX_LIST_ARGUMENT} labels and ${MAX_LIST_ARGUMENT} annotations in one statement`, async () => {
    const labels = labelsOf(MAX_LIST_ARGUMENT);
    const annotations = labels.map((l) => ({ key: l, value: "v" }));
    const all = await createStack(broker, gen.pak, { labels, annotations });
    await createStack(broker, gen.pak, { labels: labels.slice(1), annotations });
    broker.app.identities.cache.clear(); // the key lookup, then the one filtered statement
    const { result, statements } = await countBrokerStatements(() => broker.gql(STACKS, { f: { labels, annotations } }, gen.pak));
    expect(ids(ok(result).stacks)).toEqual([all.id]);
    expect(statements).toBe(2);
  });

  it("select stacks carrying every listed label and every listed annotation pair", async () => {
    const [a, b] = labelsOf(2);
    const both = await createStack(broker, gen.pak, { labels: [a!, b!], annotations: [{ key: "team", value: "x" }] });
    const onlyA = await createStack(broker, gen.pak, { labels: [a!], annotations: [{ key: "team", value: "y" }] });
    const q = async (f: Record<string, unknown>) => ids(ok(await broker.gql(STACKS, { f }, gen.pak)).stacks);
    expect(await q({ labels: [a, b] })).toEqual([both.id]);
    expect(await q({ labels: [a, a] })).toEqual([both.id, onlyA.id].sort());
    expect(await q({ labels: [a], annotations: [{ key: "team", value: "y" }] })).toEqual([onlyA.id]);
    expect(
      await q({
        labels: [a],
        annotations: [
          { key: "team", value: "x" },
          { key: "team", value: "y" },
        ],
      }),
    ).toEqual([]);
  });

  it("select agents the same way and keep keyset pages intact", async () => {
    const [a, b] = labelsOf(2);
    const agents = [];
    for (let i = 0; i < 3; i++) agents.push(await createAgent(broker, { labels: i < 2 ? [a!, b!] : [a!] }));
    expect(ids(ok(await broker.gql(AGENTS, { f: { labels: [a, b] } })).agents)).toEqual([agents[0]!.id, agents[1]!.id].sort());
    const page = `query($f: AgentFilter, $after: String) { agents(filter: $f, first: 2, after: $after) { edges { node { id } } pageInfo { endCursor hasNextPage } } }`;
    const first = ok(await broker.gql(page, { f: { labels: [a] } })).agents;
    const second = ok(await broker.gql(page, { f: { labels: [a] }, after: first.pageInfo.endCursor })).agents;
    expect(first.pageInfo.hasNextPage).toBe(true);
    expect([...ids(first), ...ids(second)].sort()).toEqual(agents.map((x) => x.id).sort());
  });
});
