import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type GraphQLResult, type TestBroker } from "../../test/broker.js";
import { expectNoLeaks } from "../../test/leaks.js";
import { CONFIGMAP_YAML, createAgent, createGenerator, createStack, deleteStack, unique } from "../../test/factories.js";

let broker: TestBroker;
let gen: { id: string; pak: string };
const UNKNOWN = "00000000-0000-4000-8000-000000000000";

beforeAll(async () => {
  broker = await startTestBroker();
  gen = await createGenerator(broker);
});

/** Asserts an error response with the code (and field), and that it leaks no internals. */
function expectError(result: GraphQLResult, code: string, field?: string) {
  expect(errorCode(result), JSON.stringify(result.errors)).toBe(code);
  if (field) expect(result.errors?.[0]?.extensions?.field).toBe(field);
  expectNoLeaks(JSON.stringify(result));
}

const CREATE_STACK = `mutation($i: CreateStackInput!) { createStack(input: $i) { stack { id } } }`;
const createStackWith = (input: Record<string, unknown>) =>
  broker.gql(CREATE_STACK, { i: { name: unique("s"), ...input } }, gen.pak);

describe("malformed YAML", () => {
  it("rejects malformed YAML naming the field, line and column", async () => {
    const stack = await createStack(broker, gen.pak);
    const result = await broker.gql(
      `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) { deploymentObject { id } } }`,
      { s: stack.id, y: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n" },
      gen.pak,
    );
    expectError(result, "BAD_USER_INPUT", "yamlContent");
    expect(result.errors![0]!.message).toMatch(/line \d+, column \d+/);
    const { rows } = await broker.db.sql.query("SELECT count(*)::int AS n FROM deployment_objects WHERE stack_id = $1", [
      stack.id,
    ]);
    expect(rows[0].n).toBe(0);
  });
});

describe("field validation", () => {
  it.each([
    ["an empty name", { name: "  " }, "name"],
    ["a 256-character name", { name: "n".repeat(256) }, "name"],
    ["a 65-character label", { labels: ["l".repeat(65)] }, "labels[0]"],
    ["a label with spaces", { labels: ["has space"] }, "labels[0]"],
    ["a 65-character annotation key", { annotations: [{ key: "k".repeat(65), value: "v" }] }, "annotations[0].key"],
  ])("rejects %s with BAD_USER_INPUT naming the field", async (_, input, field) => {
    expectError(await createStackWith(input), "BAD_USER_INPUT", field);
  });

  it("accepts a 255-character name and a 64-character label", async () => {
    ok(await broker.gql(CREATE_STACK, { i: { name: `${unique("x")}-`.padEnd(255, "n"), labels: ["l".repeat(64)] } }, gen.pak));
  });

  it("rejects a bad label on an existing stack and agent with the field", async () => {
    const stack = await createStack(broker, gen.pak);
    const agent = await createAgent(broker);
    expectError(
      await broker.gql(
        `mutation($s: ID!) { addStackLabel(input: { stackId: $s, label: "a b" }) { stack { id } } }`,
        { s: stack.id },
        gen.pak,
      ),
      "BAD_USER_INPUT",
      "label",
    );
    expectError(
      await broker.gql(
        `mutation($a: ID!, $k: String!) { setAgentAnnotation(input: { agentId: $a, key: $k, value: "v" }) { agent { id } } }`,
        { a: agent.id, k: "k".repeat(65) },
      ),
      "BAD_USER_INPUT",
      "annotation.key",
    );
  });
});

describe("duplicate names", () => {
  it("rejects a duplicate live stack name with CONFLICT and accepts a soft-deleted stack's name", async () => {
    const stack = await createStack(broker, gen.pak);
    expectError(await createStackWith({ name: stack.name }), "CONFLICT");
    await deleteStack(broker, stack.id);
    ok(await createStackWith({ name: stack.name }));
  });

  it("rejects a duplicate generator name with CONFLICT", async () => {
    const g = await createGenerator(broker);
    expectError(
      await broker.gql(`mutation($n: String!) { createGenerator(input: { name: $n }) { pak } }`, { n: g.name }),
      "CONFLICT",
    );
  });

  it("rejects a duplicate agent name in one cluster with CONFLICT, but not in another cluster", async () => {
    const a = await createAgent(broker, { clusterName: "one" });
    const dup = `mutation($n: String!, $c: String!) { createAgent(input: { name: $n, clusterName: $c }) { pak } }`;
    expectError(await broker.gql(dup, { n: a.name, c: "one" }), "CONFLICT");
    ok(await broker.gql(dup, { n: a.name, c: "two" }));
  });

  it("rejects renaming a stack to a live name with CONFLICT", async () => {
    const [a, b] = [await createStack(broker, gen.pak), await createStack(broker, gen.pak)];
    expectError(
      await broker.gql(
        `mutation($id: ID!, $n: String!) { updateStack(input: { id: $id, name: $n }) { stack { id } } }`,
        { id: b.id, n: a.name },
        gen.pak,
      ),
      "CONFLICT",
    );
  });
});

describe("ids", () => {
  const lookups: [string, string, Record<string, unknown>][] = [
    ["stack", `query($id: ID!) { stack(id: $id) { id } }`, {}],
    ["agent", `query($id: ID!) { agent(id: $id) { id } }`, {}],
    ["generator", `query($id: ID!) { generator(id: $id) { id } }`, {}],
    ["deploymentObject", `query($id: ID!) { deploymentObject(id: $id) { id } }`, {}],
    ["updateStack", `mutation($id: ID!) { updateStack(input: { id: $id, description: "d" }) { stack { id } } }`, {}],
    ["deleteAgent", `mutation($id: ID!) { deleteAgent(input: { id: $id }) { deletedId } }`, {}],
    ["rotateGeneratorPak", `mutation($id: ID!) { rotateGeneratorPak(input: { id: $id }) { pak } }`, {}],
  ];

  it.each(lookups)("answers %s with NOT_FOUND for an unknown id and BAD_USER_INPUT for a malformed one", async (_, doc) => {
    expectError(await broker.gql(doc, { id: UNKNOWN }), "NOT_FOUND");
    expectError(await broker.gql(doc, { id: "not-an-id" }), "BAD_USER_INPUT", "id");
  });

  it("requires the admin to name the agent of a reported event", async () => {
    const stack = await createStack(broker, gen.pak);
    const object = ok(
      await broker.gql(
        `mutation($s: ID!) { createDeploymentObject(input: { stackId: $s, yamlContent: "a: 1" }) { deploymentObject { id } } }`,
        { s: stack.id },
        gen.pak,
      ),
    );
    const report = `mutation($o: ID!) { reportAgentEvent(input: { deploymentObjectId: $o, status: SUCCESS }) { event { id } } }`;
    expectError(await broker.gql(report, { o: object.createDeploymentObject.deploymentObject.id }), "BAD_USER_INPUT", "agentId");
  });

  it("names the malformed id field of a mutation input", async () => {
    const stack = await createStack(broker, gen.pak);
    const create = `mutation($s: ID!) { createDeploymentObject(input: { stackId: $s, yamlContent: "a: 1" }) { deploymentObject { id } } }`;
    expectError(await broker.gql(create, { s: "nope" }, gen.pak), "BAD_USER_INPUT", "stackId");
    expectError(await broker.gql(create, { s: UNKNOWN }, gen.pak), "FORBIDDEN");
    const target = `mutation($a: ID!, $s: ID!) { targetStack(input: { agentId: $a, stackId: $s }) { agent { id } } }`;
    expectError(await broker.gql(target, { a: "nope", s: stack.id }), "BAD_USER_INPUT", "agentId");
    expectError(await broker.gql(target, { a: UNKNOWN, s: stack.id }), "NOT_FOUND");
  });
});

describe("nothing half-written", () => {
  it("leaves no stack behind when one of its labels is invalid", async () => {
    const name = unique("half");
    expectError(await broker.gql(CREATE_STACK, { i: { name, labels: ["fine", "not fine"] } }, gen.pak), "BAD_USER_INPUT");
    const { rows } = await broker.db.sql.query("SELECT count(*)::int AS n FROM stacks WHERE name = $1", [name]);
    expect(rows[0].n).toBe(0);
  });

  it("leaves no labels behind when an agent's name is a duplicate", async () => {
    const a = await createAgent(broker);
    const label = unique("orphan");
    expectError(
      await broker.gql(
        `mutation($n: String!, $l: String!) { createAgent(input: { name: $n, clusterName: "test-cluster", labels: [$l] }) { pak } }`,
        { n: a.name, l: label },
      ),
      "CONFLICT",
    );
    const { rows } = await broker.db.sql.query("SELECT count(*)::int AS n FROM agent_labels WHERE label = $1", [label]);
    expect(rows[0].n).toBe(0);
  });

  it("leaves no stack behind when the admin names an unknown generator", async () => {
    const name = unique("nogen");
    expectError(await broker.gql(CREATE_STACK, { i: { name, generatorId: UNKNOWN, labels: ["x"] } }), "NOT_FOUND");
    const { rows } = await broker.db.sql.query("SELECT count(*)::int AS n FROM stacks WHERE name = $1", [name]);
    expect(rows[0].n).toBe(0);
  });

  it("keeps deployment object content exactly as submitted (no YAML normalisation)", async () => {
    const stack = await createStack(broker, gen.pak);
    const yaml = `${CONFIGMAP_YAML()}   # trailing comment\n`;
    const created = ok(
      await broker.gql(
        `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) { deploymentObject { yamlContent } } }`,
        { s: stack.id, y: yaml },
        gen.pak,
      ),
    );
    expect(created.createDeploymentObject.deploymentObject.yamlContent).toBe(yaml);
  });
});
