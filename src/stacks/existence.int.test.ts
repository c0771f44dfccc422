import { beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type GraphQLResult, type TestBroker } from "../../test/broker.js";
import { CONFIGMAP_YAML, createStack } from "../../test/factories.js";
import { buildWorld, type World } from "../../test/world.js";

let broker: TestBroker;
let w: World;
const UNKNOWN = "00000000-0000-4000-8000-000000000000";

beforeAll(async () => {
  broker = await startTestBroker();
  w = await buildWorld(broker);
});

/** What a client can observe of a refusal: status, codes, messages and data. */
const seen = (r: GraphQLResult) => ({
  status: r.status,
  data: r.data ?? null,
  errors: r.errors?.map((e) => ({ message: e.message, code: e.extensions?.code })),
});

const CASES: [string, string, (w: World) => Record<string, unknown>, (w: World) => Record<string, unknown>][] = [
  ["stack", `query($id: ID!) { stack(id: $id) { id } }`, (x) => ({ id: x.stack.id }), () => ({ id: UNKNOWN })],
  [
    "deploymentObject",
    `query($id: ID!) { deploymentObject(id: $id) { id } }`,
    (x) => ({ id: x.object.id }),
    () => ({ id: UNKNOWN }),
  ],
  [
    "createDeploymentObject",
    `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) { deploymentObject { id } } }`,
    (x) => ({ s: x.stack.id, y: CONFIGMAP_YAML() }),
    () => ({ s: UNKNOWN, y: CONFIGMAP_YAML() }),
  ],
  [
    "updateStack",
    `mutation($id: ID!) { updateStack(input: { id: $id, description: "d" }) { stack { id } } }`,
    (x) => ({ id: x.stack.id }),
    () => ({ id: UNKNOWN }),
  ],
  [
    "deleteStack",
    `mutation($id: ID!) { deleteStack(input: { id: $id, hard: true }) { deletedId } }`,
    (x) => ({ id: x.stack.id }),
    () => ({ id: UNKNOWN }),
  ],
  [
    "addStackLabel",
    `mutation($id: ID!) { addStackLabel(input: { stackId: $id, label: "x" }) { stack { id } } }`,
    (x) => ({ id: x.stack.id }),
    () => ({ id: UNKNOWN }),
  ],
  [
    "targetStack (stack)",
    `mutation($a: ID!, $s: ID!) { targetStack(input: { agentId: $a, stackId: $s }) { agent { id } } }`,
    (x) => ({ a: x.agentB.id, s: x.stack.id }),
    (x) => ({ a: x.agentB.id, s: UNKNOWN }),
  ],
  ["agent", `query($id: ID!) { agent(id: $id) { id } }`, (x) => ({ id: x.agentA.id }), () => ({ id: UNKNOWN })],
  ["generator", `query($id: ID!) { generator(id: $id) { id } }`, (x) => ({ id: x.genA.id }), () => ({ id: UNKNOWN })],
  [
    "rotateGeneratorPak",
    `mutation($id: ID!) { rotateGeneratorPak(input: { id: $id }) { pak } }`,
    (x) => ({ id: x.genA.id }),
    () => ({ id: UNKNOWN }),
  ],
];

describe("another generator's ids answer exactly as unknown ids", () => {
  it.each(CASES)("%s", async (_, doc, known, unknown) => {
    const theirs = await broker.gql(doc, known(w), w.genB.pak);
    const none = await broker.gql(doc, unknown(w), w.genB.pak);
    expect(seen(theirs)).toEqual(seen(none));
    expect(seen(theirs).errors?.[0]?.code).toBe("FORBIDDEN");
  });

  it("still tells the owner that its own deleted stack is NOT_FOUND", async () => {
    const stack = await createStack(broker, w.genA.pak);
    await broker.gql(`mutation($id: ID!) { deleteStack(input: { id: $id }) { deletedId } }`, { id: stack.id }, w.genA.pak);
    const again = await broker.gql(
      `mutation($id: ID!) { updateStack(input: { id: $id, description: "d" }) { stack { id } } }`,
      { id: stack.id },
      w.genA.pak,
    );
    expect(again.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
  });
});

describe("another agent's ids answer exactly as unknown ids", () => {
  it.each([
    ["agent", `query($id: ID!) { agent(id: $id) { id } }`],
    ["targetState", `query($id: ID!) { targetState(agentId: $id) { stackId } }`],
    ["updateAgent", `mutation($id: ID!) { updateAgent(input: { id: $id, name: "x" }) { agent { id } } }`],
    ["rotateAgentPak", `mutation($id: ID!) { rotateAgentPak(input: { id: $id }) { pak } }`],
  ])("%s", async (_, doc) => {
    const theirs = await broker.gql(doc, { id: w.agentB.id }, w.agentA.pak);
    const none = await broker.gql(doc, { id: UNKNOWN }, w.agentA.pak);
    expect(seen(theirs)).toEqual(seen(none));
    expect(seen(theirs).errors?.[0]?.code).toBe("FORBIDDEN");
  });
});
