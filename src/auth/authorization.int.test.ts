import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, startTestBroker, type TestBroker } from "../../test/broker.js";
import { CONFIGMAP_YAML, unique } from "../../test/factories.js";
import { expectNoLeaks } from "../../test/leaks.js";
import { nextOpened, wsClient } from "../../test/subscriptions.js";
import { createUser } from "../../test/users.js";
import { buildWorld, CALLERS, type Caller, type World } from "../../test/world.js";

type Outcome = "ok" | "FORBIDDEN" | "UNAUTHENTICATED";
/** Expected outcome for [admin, owning generator, other generator, own agent, other agent]; no PAK is always UNAUTHENTICATED. */
type Outcomes = [Outcome, Outcome, Outcome, Outcome, Outcome];

interface Row {
  name: string;
  field: string;
  doc: string;
  vars: (w: World) => Record<string, unknown>;
  expect: Outcomes;
}

const F = "FORBIDDEN";
const ALL: Outcomes = ["ok", "ok", "ok", "ok", "ok"];
const ADMIN_ONLY: Outcomes = ["ok", F, F, F, F];
const STACK_OWNER: Outcomes = ["ok", "ok", F, F, F];
const AGENT_SELF: Outcomes = ["ok", F, F, "ok", F];

const CALLER_NAME: Record<Caller, string> = {
  admin: "the admin",
  ownGen: "the owning generator",
  otherGen: "another generator",
  ownAgent: "the agent itself",
  otherAgent: "another agent",
  none: "a caller without a PAK",
};

const queries: Row[] = [
  { name: "me", field: "me", doc: `{ me { role id } }`, vars: () => ({}), expect: ALL },
  { name: "users", field: "users", doc: `{ users { edges { node { id } } } }`, vars: () => ({}), expect: ADMIN_ONLY },
  {
    name: "fleet",
    field: "fleet",
    doc: `{ fleet { edges { node { connection } } } }`,
    vars: () => ({}),
    expect: ADMIN_ONLY,
  },
  {
    name: "generators",
    field: "generators",
    doc: `{ generators { edges { node { id } } } }`,
    vars: () => ({}),
    expect: ["ok", "ok", "ok", F, F],
  },
  {
    name: "generator",
    field: "generator",
    doc: `query($id: ID!) { generator(id: $id) { id } }`,
    vars: (w) => ({ id: w.genA.id }),
    expect: ["ok", "ok", F, F, F],
  },
  { name: "stacks", field: "stacks", doc: `{ stacks { edges { node { id } } } }`, vars: () => ({}), expect: ALL },
  {
    name: "stack",
    field: "stack",
    doc: `query($id: ID!) { stack(id: $id) { id } }`,
    vars: (w) => ({ id: w.stack.id }),
    expect: ["ok", "ok", F, "ok", F],
  },
  { name: "agents", field: "agents", doc: `{ agents { edges { node { id } } } }`, vars: () => ({}), expect: ALL },
  {
    name: "agent",
    field: "agent",
    doc: `query($id: ID!) { agent(id: $id) { id } }`,
    vars: (w) => ({ id: w.agentA.id }),
    expect: ["ok", "ok", F, "ok", F],
  },
  {
    name: "deploymentObject",
    field: "deploymentObject",
    doc: `query($id: ID!) { deploymentObject(id: $id) { id yamlContent } }`,
    vars: (w) => ({ id: w.object.id }),
    expect: ["ok", "ok", F, "ok", F],
  },
  {
    name: "targetState",
    field: "targetState",
    doc: `query($id: ID!) { targetState(agentId: $id) { stackId } }`,
    vars: (w) => ({ id: w.agentA.id }),
    expect: AGENT_SELF,
  },
];

const m = (name: string, input: string, selection: string) => `mutation($i: ${input}!) { ${name}(input: $i) { ${selection} } }`;

const mutations: Row[] = [
  {
    name: "createGenerator",
    field: "createGenerator",
    doc: m("createGenerator", "CreateGeneratorInput", "pak"),
    vars: () => ({ i: { name: unique("g") } }),
    expect: ADMIN_ONLY,
  },
  {
    name: "rotateGeneratorPak",
    field: "rotateGeneratorPak",
    doc: m("rotateGeneratorPak", "RotateGeneratorPakInput", "pak"),
    vars: (w) => ({ i: { id: w.genA.id } }),
    expect: ["ok", "ok", F, F, F],
  },
  {
    name: "deleteGenerator",
    field: "deleteGenerator",
    doc: m("deleteGenerator", "DeleteGeneratorInput", "deletedId"),
    vars: (w) => ({ i: { id: w.genA.id } }),
    expect: ADMIN_ONLY,
  },
  {
    name: "createAgent",
    field: "createAgent",
    doc: m("createAgent", "CreateAgentInput", "pak"),
    vars: () => ({ i: { name: unique("a"), clusterName: "c" } }),
    expect: ADMIN_ONLY,
  },
  {
    name: "rotateAgentPak",
    field: "rotateAgentPak",
    doc: m("rotateAgentPak", "RotateAgentPakInput", "pak"),
    vars: (w) => ({ i: { id: w.agentA.id } }),
    expect: AGENT_SELF,
  },
  {
    name: "updateAgent (name)",
    field: "updateAgent",
    doc: m("updateAgent", "UpdateAgentInput", "agent { name }"),
    vars: (w) => ({ i: { id: w.agentA.id, name: unique("renamed") } }),
    expect: AGENT_SELF,
  },
  {
    name: "updateAgent (status)",
    field: "updateAgent",
    doc: m("updateAgent", "UpdateAgentInput", "agent { status }"),
    vars: (w) => ({ i: { id: w.agentA.id, status: "INACTIVE" } }),
    expect: ADMIN_ONLY,
  },
  {
    name: "deleteAgent",
    field: "deleteAgent",
    doc: m("deleteAgent", "DeleteAgentInput", "deletedId"),
    vars: (w) => ({ i: { id: w.agentA.id } }),
    expect: ADMIN_ONLY,
  },
  {
    name: "registerAgent",
    field: "registerAgent",
    doc: m("registerAgent", "RegisterAgentInput", "agent { id }"),
    vars: (w) => ({ i: { agentId: w.agentA.id, generatorId: w.genB.id } }),
    expect: ADMIN_ONLY,
  },
  {
    name: "deregisterAgent",
    field: "deregisterAgent",
    doc: m("deregisterAgent", "DeregisterAgentInput", "agent { id }"),
    vars: (w) => ({ i: { agentId: w.agentA.id, generatorId: w.genA.id } }),
    expect: ADMIN_ONLY,
  },
  {
    name: "createStack",
    field: "createStack",
    doc: m("createStack", "CreateStackInput", "stack { id }"),
    vars: (w) => ({ i: { name: unique("s"), generatorId: w.genA.id } }),
    expect: STACK_OWNER,
  },
  {
    name: "updateStack",
    field: "updateStack",
    doc: m("updateStack", "UpdateStackInput", "stack { id }"),
    vars: (w) => ({ i: { id: w.stack.id, description: "d" } }),
    expect: STACK_OWNER,
  },
  {
    name: "deleteStack",
    field: "deleteStack",
    doc: m("deleteStack", "DeleteStackInput", "deletedId"),
    vars: (w) => ({ i: { id: w.stack.id } }),
    expect: STACK_OWNER,
  },
  {
    name: "createDeploymentObject",
    field: "createDeploymentObject",
    doc: m("createDeploymentObject", "CreateDeploymentObjectInput", "deploymentObject { id }"),
    vars: (w) => ({ i: { stackId: w.stack.id, yamlContent: CONFIGMAP_YAML("x") } }),
    expect: STACK_OWNER,
  },
  {
    name: "addStackLabel",
    field: "addStackLabel",
    doc: m("addStackLabel", "StackLabelInput", "stack { id }"),
    vars: (w) => ({ i: { stackId: w.stack.id, label: "new" } }),
    expect: STACK_OWNER,
  },
  {
    name: "removeStackLabel",
    field: "removeStackLabel",
    doc: m("removeStackLabel", "StackLabelInput", "stack { id }"),
    vars: (w) => ({ i: { stackId: w.stack.id, label: w.label } }),
    expect: STACK_OWNER,
  },
  {
    name: "setStackAnnotation",
    field: "setStackAnnotation",
    doc: m("setStackAnnotation", "SetStackAnnotationInput", "stack { id }"),
    vars: (w) => ({ i: { stackId: w.stack.id, key: "k", value: "v" } }),
    expect: STACK_OWNER,
  },
  {
    name: "removeStackAnnotation",
    field: "removeStackAnnotation",
    doc: m("removeStackAnnotation", "RemoveStackAnnotationInput", "stack { id }"),
    vars: (w) => ({ i: { stackId: w.stack.id, key: "team" } }),
    expect: STACK_OWNER,
  },
  {
    name: "addAgentLabel",
    field: "addAgentLabel",
    doc: m("addAgentLabel", "AgentLabelInput", "agent { id }"),
    vars: (w) => ({ i: { agentId: w.agentA.id, label: "new" } }),
    expect: ADMIN_ONLY,
  },
  {
    name: "removeAgentLabel",
    field: "removeAgentLabel",
    doc: m("removeAgentLabel", "AgentLabelInput", "agent { id }"),
    vars: (w) => ({ i: { agentId: w.agentA.id, label: "agent-a" } }),
    expect: ADMIN_ONLY,
  },
  {
    name: "setAgentAnnotation",
    field: "setAgentAnnotation",
    doc: m("setAgentAnnotation", "SetAgentAnnotationInput", "agent { id }"),
    vars: (w) => ({ i: { agentId: w.agentA.id, key: "k", value: "v" } }),
    expect: ADMIN_ONLY,
  },
  {
    name: "removeAgentAnnotation",
    field: "removeAgentAnnotation",
    doc: m("removeAgentAnnotation", "RemoveAgentAnnotationInput", "agent { id }"),
    vars: (w) => ({ i: { agentId: w.agentA.id, key: "k" } }),
    expect: ADMIN_ONLY,
  },
  {
    name: "targetStack",
    field: "targetStack",
    doc: m("targetStack", "TargetStackInput", "agent { id }"),
    vars: (w) => ({ i: { agentId: w.agentA.id, stackId: w.stack.id } }),
    expect: STACK_OWNER,
  },
  {
    name: "untargetStack",
    field: "untargetStack",
    doc: m("untargetStack", "TargetStackInput", "agent { id }"),
    vars: (w) => ({ i: { agentId: w.agentA.id, stackId: w.stack.id } }),
    expect: STACK_OWNER,
  },
  {
    name: "reportAgentEvent",
    field: "reportAgentEvent",
    doc: m("reportAgentEvent", "ReportAgentEventInput", "event { id }"),
    vars: (w) => ({ i: { agentId: w.agentA.id, deploymentObjectId: w.object.id, status: "SUCCESS" } }),
    expect: AGENT_SELF,
  },
  {
    name: "heartbeat",
    field: "heartbeat",
    doc: m("heartbeat", "HeartbeatInput", "agent { id }"),
    vars: () => ({ i: { k8sReachable: true } }),
    expect: [F, F, F, "ok", "ok"],
  },
  {
    name: "createUser",
    field: "createUser",
    doc: m("createUser", "CreateUserInput", "pak"),
    vars: () => ({ i: { name: unique("u"), role: "VIEWER" } }),
    expect: ADMIN_ONLY,
  },
  {
    name: "rotateUserPak",
    field: "rotateUserPak",
    doc: m("rotateUserPak", "RotateUserPakInput", "pak"),
    vars: (w) => ({ i: { id: w.user.id } }),
    expect: ADMIN_ONLY,
  },
  {
    name: "deleteUser",
    field: "deleteUser",
    doc: m("deleteUser", "DeleteUserInput", "deletedId"),
    vars: (w) => ({ i: { id: w.user.id } }),
    expect: ADMIN_ONLY,
  },
];

let broker: TestBroker;
let shared: World;

beforeAll(async () => {
  broker = await startTestBroker();
  shared = await buildWorld(broker);
});

function outcomeOf(row: Row, caller: Caller): Outcome {
  return caller === "none" ? "UNAUTHENTICATED" : row.expect[CALLERS.indexOf(caller)]!;
}

async function check(row: Row, caller: Caller, world: World) {
  return checkWith(row, outcomeOf(row, caller), world.pak(caller), world);
}

async function checkWith(row: Row, expected: Outcome, pak: string | null, world: World) {
  const result = await broker.gql(row.doc, row.vars(world), pak);
  expectNoLeaks(JSON.stringify(result));
  if (expected === "ok") {
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    expect(result.data?.[row.field]).toBeTruthy();
  } else {
    expect(errorCode(result)).toBe(expected);
    expect(result.data?.[row.field] ?? null).toBeNull();
  }
}

const sentence = (row: Row, caller: Caller) => {
  const outcome = outcomeOf(row, caller);
  return `${CALLER_NAME[caller]} ${outcome === "ok" ? "succeeds" : `is refused with ${outcome}`}`;
};

describe.each(queries)("query $name", (row) => {
  for (const caller of CALLERS) {
    it(sentence(row, caller), async () => check(row, caller, shared));
  }
});

describe.each(mutations)("mutation $name", (row) => {
  for (const caller of CALLERS) {
    it(sentence(row, caller), async () => check(row, caller, await buildWorld(broker)));
  }
});

/** A subscription row: `live`, when set, makes the event an allowed caller must receive once subscribed (no replay to wait on). */
interface SubscriptionRow extends Row {
  live?: {
    opened: (w: World) => `${"agentEventsAdded" | "fleetChanges" | "workOrderChanges" | "diagnosticRequestChanges"}:${string}`;
    trigger: (w: World) => Promise<unknown>;
  };
}

const subscriptions: SubscriptionRow[] = [
  {
    name: "agentDeployments",
    field: "agentDeployments",
    doc: `subscription($a: ID) { agentDeployments(agentId: $a) { type deploymentObject { id } } }`,
    vars: (w) => ({ a: w.agentA.id }),
    expect: ["ok", F, F, "ok", F],
  },
  {
    name: "stackDeploymentObjects",
    field: "stackDeploymentObjects",
    doc: `subscription($s: ID!) { stackDeploymentObjects(stackId: $s) { id } }`,
    vars: (w) => ({ s: w.stack.id }),
    expect: ["ok", "ok", F, F, F],
  },
  {
    name: "agentEventsAdded",
    field: "agentEventsAdded",
    doc: `subscription($a: ID) { agentEventsAdded(agentId: $a) { id status } }`,
    vars: (w) => ({ a: w.agentA.id }),
    expect: AGENT_SELF,
    live: {
      opened: (w) => `agentEventsAdded:${w.agentA.id}`,
      trigger: (w) =>
        broker.gql(
          m("reportAgentEvent", "ReportAgentEventInput", "event { id }"),
          { i: { deploymentObjectId: w.object.id, status: "SUCCESS" } },
          w.agentA.pak,
        ),
    },
  },
  {
    name: "fleetChanges",
    field: "fleetChanges",
    doc: `subscription { fleetChanges { kind agentId status { connection } } }`,
    vars: () => ({}),
    expect: ADMIN_ONLY,
    live: {
      opened: () => "fleetChanges:*",
      trigger: (w) => broker.gql(`mutation { heartbeat { agent { id } } }`, {}, w.agentA.pak),
    },
  },
  {
    name: "workOrderChanges",
    field: "workOrderChanges",
    doc: `subscription { workOrderChanges { kind workOrderId } }`,
    vars: () => ({}),
    expect: ADMIN_ONLY,
    live: {
      opened: () => "workOrderChanges:*",
      trigger: (w) =>
        broker.gql(m("createWorkOrder", "CreateWorkOrderInput", "workOrder { id }"), {
          i: { workType: "custom", yamlContent: "x: 1", targeting: { agentIds: [w.agentA.id] } },
        }),
    },
  },
  {
    name: "diagnosticRequestChanges",
    field: "diagnosticRequestChanges",
    doc: `subscription { diagnosticRequestChanges { kind diagnosticRequestId } }`,
    vars: () => ({}),
    expect: ADMIN_ONLY,
    live: {
      opened: () => "diagnosticRequestChanges:*",
      trigger: (w) =>
        broker.gql(m("requestDiagnostics", "RequestDiagnosticsInput", "diagnosticRequest { id }"), {
          i: { deploymentObjectId: w.object.id, agentId: w.agentA.id },
        }),
    },
  },
];

type FirstMessage =
  | { data?: Record<string, unknown> | null; errors?: readonly { extensions?: { code?: unknown } }[] }
  | { closed: number };

/** Checks the first thing a subscription gets: an event (the replay, or `live`'s trigger), its errors, or the socket's close code. */
async function checkSubscription(row: SubscriptionRow, caller: Caller, world: World) {
  return checkSubscriptionWith(row, outcomeOf(row, caller), world.pak(caller), world);
}

async function checkSubscriptionWith(row: SubscriptionRow, expected: Outcome, pak: string | null, world: World) {
  const client = wsClient(broker.url, pak);
  // Also when a refusal is expected: a subscription wrongly let through then receives the trigger and fails the test.
  const opened = row.live ? nextOpened(broker, row.live.opened(world)) : undefined;
  const first = new Promise<FirstMessage>((resolve) => {
    client.on("closed", (e) => resolve({ closed: (e as { code: number }).code }));
    client.subscribe(
      { query: row.doc, variables: row.vars(world) },
      { next: resolve, error: (errors) => resolve({ errors: errors as never }), complete: () => {} },
    );
  });
  if (
    opened &&
    row.live &&
    (await Promise.race([
      opened.then(
        () => true,
        () => false,
      ),
      first.then(() => false),
    ]))
  )
    await row.live.trigger(world);
  const message = await first;
  await client.dispose();
  expectNoLeaks(JSON.stringify(message));
  if (expected === "UNAUTHENTICATED") return expect(message).toEqual({ closed: 4401 });
  if (!("closed" in message) && expected === "ok") {
    expect(message.errors, JSON.stringify(message.errors)).toBeUndefined();
    return expect(message.data?.[row.field]).toBeTruthy();
  }
  expect("closed" in message ? message : message.errors?.[0]?.extensions?.code).toBe(expected);
}

describe.each(subscriptions)("subscription $name", (row) => {
  for (const caller of CALLERS) {
    it(sentence(row, caller), async () => checkSubscription(row, caller, shared));
  }
});

// ---- console: read-only users ----
// A VIEWER (and, until approvals exist, an APPROVER) resolves with the admin's role: every query
// and subscription answers as it does for the admin, and every mutation is FORBIDDEN.
describe.each(["VIEWER", "APPROVER"] as const)("a read-only %s user", (role) => {
  let pak: string;
  beforeAll(async () => {
    pak = (await createUser(broker, role)).pak;
  });
  const adminOutcome = (row: Row) => row.expect[0];
  for (const row of queries)
    it(`reads ${row.name} as the admin does`, async () => checkWith(row, adminOutcome(row), pak, shared));
  for (const row of subscriptions)
    it(`subscribes to ${row.name} as the admin does`, async () => checkSubscriptionWith(row, adminOutcome(row), pak, shared));
  for (const row of mutations)
    it(`is refused ${row.name} with FORBIDDEN`, async () => checkWith(row, "FORBIDDEN", pak, await buildWorld(broker)));
});
