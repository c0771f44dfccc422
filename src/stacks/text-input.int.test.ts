import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, createStack } from "../../test/factories.js";

let broker: TestBroker;
let gen: { id: string; pak: string };

beforeAll(async () => {
  broker = await startTestBroker();
  gen = await createGenerator(broker);
});

const NUL = "x\u0000y";
const LONE = "x\uD800y";
const cursor = (parts: string[]) => Buffer.from(JSON.stringify(parts)).toString("base64url");

describe("NUL bytes and lone surrogates in GraphQL inputs", () => {
  it.each([NUL, LONE])("are BAD_USER_INPUT naming the field, wherever they are (%j)", async (bad) => {
    const stack = await createStack(broker, gen.pak);
    const agent = await createAgent(broker);
    const cases: [string, Record<string, unknown>, string, string?][] = [
      [`mutation($n: String!) { createStack(input: { name: $n }) { stack { id } } }`, { n: bad }, "name"],
      [
        `mutation($d: String) { createStack(input: { name: "ok-${Math.random()}", description: $d }) { stack { id } } }`,
        { d: bad },
        "description",
      ],
      [
        `mutation($s: ID!, $v: String!) { setStackAnnotation(input: { stackId: $s, key: "k", value: $v }) { stack { id } } }`,
        { s: stack.id, v: bad },
        "annotation.value",
      ],
      [
        `mutation($s: ID!, $l: String!) { removeStackLabel(input: { stackId: $s, label: $l }) { stack { id } } }`,
        { s: stack.id, l: bad },
        "label",
      ],
      [
        `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) { deploymentObject { id } } }`,
        { s: stack.id, y: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${bad}\n` },
        "yamlContent",
      ],
      [`query($l: [String!]) { stacks(filter: { labels: $l }) { edges { cursor } } }`, { l: [bad] }, "filter.labels[0]"],
      [
        `query($a: String) { stacks(after: $a) { edges { cursor } } }`,
        { a: cursor([bad, "00000000-0000-4000-8000-000000000000"]) },
        "after",
      ],
      [
        `mutation($id: ID!, $k: String!) { removeAgentAnnotation(input: { agentId: $id, key: $k }) { agent { id } } }`,
        { id: agent.id, k: bad },
        "key",
        "admin",
      ],
      [`mutation($n: String!) { createGenerator(input: { name: $n }) { pak } }`, { n: bad }, "name", "admin"],
    ];
    for (const [doc, vars, field, as] of cases) {
      const result = await broker.gql(doc, vars, as === "admin" ? broker.adminPak : gen.pak);
      expect(errorCode(result), doc).toBe("BAD_USER_INPUT");
      expect(result.errors?.[0]?.extensions?.field, doc).toBe(field);
    }
  });
});

describe("sequence-id cursors over GraphQL", () => {
  it("refuses a stack's deploymentObjects cursor above the 64-bit range", async () => {
    const stack = await createStack(broker, gen.pak);
    const result = await broker.gql(
      `query($id: ID!, $a: String) { stack(id: $id) { deploymentObjects(after: $a) { edges { cursor } } } }`,
      { id: stack.id, a: cursor(["9223372036854775808"]) },
      gen.pak,
    );
    expect(errorCode(result)).toBe("BAD_USER_INPUT");
  });
});
