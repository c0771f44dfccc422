import type { TestBroker } from "./broker.js";
import { ok } from "./broker.js";

let counter = 0;
export const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

export const CONFIGMAP_YAML = (name = "demo") =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  key: value\n`;

export interface AnnotationInput {
  key: string;
  value: string;
}

export async function createGenerator(broker: TestBroker, name = unique("gen")) {
  const data = ok(
    await broker.gql<{ createGenerator: { generator: { id: string; name: string }; pak: string } }>(
      `mutation($name: String!) { createGenerator(input: { name: $name }) { generator { id name } pak } }`,
      { name },
    ),
  );
  return { id: data.createGenerator.generator.id, name, pak: data.createGenerator.pak };
}

export async function createAgent(
  broker: TestBroker,
  opts: { name?: string; clusterName?: string; activate?: boolean; labels?: string[]; annotations?: AnnotationInput[] } = {},
) {
  const name = opts.name ?? unique("agent");
  const data = ok(
    await broker.gql<{ createAgent: { agent: { id: string }; pak: string } }>(
      `mutation($name: String!, $cluster: String!, $labels: [String!], $annotations: [AnnotationInput!]) {
         createAgent(input: { name: $name, clusterName: $cluster, labels: $labels, annotations: $annotations }) { agent { id } pak } }`,
      { name, cluster: opts.clusterName ?? "test-cluster", labels: opts.labels ?? [], annotations: opts.annotations ?? [] },
    ),
  );
  const agent = { id: data.createAgent.agent.id, name, pak: data.createAgent.pak };
  if (opts.activate) await setAgentStatus(broker, agent.id, "ACTIVE");
  return agent;
}

export async function setAgentStatus(broker: TestBroker, agentId: string, status: "ACTIVE" | "INACTIVE") {
  ok(
    await broker.gql(`mutation($id: ID!, $s: AgentStatus!) { updateAgent(input: { id: $id, status: $s }) { agent { id } } }`, {
      id: agentId,
      s: status,
    }),
  );
}

export async function createStack(
  broker: TestBroker,
  pak: string,
  opts: { name?: string; generatorId?: string; labels?: string[]; annotations?: AnnotationInput[]; description?: string } = {},
) {
  const name = opts.name ?? unique("stack");
  const data = ok(
    await broker.gql<{ createStack: { stack: { id: string } } }>(
      `mutation($name: String!, $generatorId: ID, $labels: [String!], $annotations: [AnnotationInput!], $description: String) {
         createStack(input: { name: $name, generatorId: $generatorId, labels: $labels, annotations: $annotations, description: $description }) {
           stack { id } } }`,
      {
        name,
        generatorId: opts.generatorId ?? null,
        labels: opts.labels ?? [],
        annotations: opts.annotations ?? [],
        description: opts.description ?? null,
      },
      pak,
    ),
  );
  return { id: data.createStack.stack.id, name };
}

export async function createObject(broker: TestBroker, pak: string, stackId: string, yamlContent = CONFIGMAP_YAML()) {
  const data = ok(
    await broker.gql<{ createDeploymentObject: { deploymentObject: { id: string; sequenceId: string; yamlChecksum: string } } }>(
      `mutation($stackId: ID!, $yaml: String!) {
         createDeploymentObject(input: { stackId: $stackId, yamlContent: $yaml }) { deploymentObject { id sequenceId yamlChecksum } } }`,
      { stackId, yaml: yamlContent },
      pak,
    ),
  );
  return data.createDeploymentObject.deploymentObject;
}

export async function deleteStack(broker: TestBroker, stackId: string, opts: { hard?: boolean; pak?: string } = {}) {
  const data = ok(
    await broker.gql<{
      deleteStack: {
        deletedId: string;
        deletionMarker: {
          id: string;
          sequenceId: string;
          isDeletionMarker: boolean;
          yamlContent: string;
          yamlChecksum: string;
        } | null;
      };
    }>(
      `mutation($id: ID!, $hard: Boolean) {
         deleteStack(input: { id: $id, hard: $hard }) { deletedId deletionMarker { id sequenceId isDeletionMarker yamlContent yamlChecksum } } }`,
      { id: stackId, hard: opts.hard ?? false },
      opts.pak ?? broker.adminPak,
    ),
  );
  return data.deleteStack;
}

export async function registerAgent(broker: TestBroker, agentId: string, generatorId: string) {
  ok(
    await broker.gql(`mutation($a: ID!, $g: ID!) { registerAgent(input: { agentId: $a, generatorId: $g }) { agent { id } } }`, {
      a: agentId,
      g: generatorId,
    }),
  );
}

export async function targetStack(broker: TestBroker, agentId: string, stackId: string, pak?: string) {
  ok(
    await broker.gql(
      `mutation($a: ID!, $s: ID!) { targetStack(input: { agentId: $a, stackId: $s }) { agent { id } } }`,
      { a: agentId, s: stackId },
      pak ?? broker.adminPak,
    ),
  );
}

export async function reportEvent(
  broker: TestBroker,
  pak: string,
  deploymentObjectId: string,
  status: "SUCCESS" | "FAILURE" = "SUCCESS",
) {
  const data = ok(
    await broker.gql<{ reportAgentEvent: { event: { id: string } } }>(
      `mutation($o: ID!, $s: AgentEventStatus!) { reportAgentEvent(input: { deploymentObjectId: $o, status: $s }) { event { id } } }`,
      { o: deploymentObjectId, s: status },
      pak,
    ),
  );
  return data.reportAgentEvent.event;
}

/** The stack ids in an agent's target state, as the agent itself sees it. */
export async function targetStateStackIds(broker: TestBroker, agentId: string, pak = broker.adminPak): Promise<string[]> {
  const data = ok(
    await broker.gql<{ targetState: { stackId: string }[] }>(
      `query($a: ID!) { targetState(agentId: $a) { stackId } }`,
      { a: agentId },
      pak,
    ),
  );
  return data.targetState.map((e) => e.stackId).sort();
}

/** The usual delivery fixture: a generator, an active agent, and a stack of the generator targeted at it. */
export async function targetedAgent(broker: TestBroker) {
  const gen = await createGenerator(broker);
  const agent = await createAgent(broker, { activate: true });
  const stack = await createStack(broker, gen.pak);
  await targetStack(broker, agent.id, stack.id);
  return { gen, agent, stack };
}

/**
 * For "nothing arrives" checks: a stack of `gen` targeted at the agent. An object committed on it
 * after the one that must not arrive reaches the agent after that one would have, so once the
 * sentinel is in, the absence of the other is settled — no pause needed.
 */
export async function sentinelStack(broker: TestBroker, gen: { pak: string }, agentId: string) {
  const stack = await createStack(broker, gen.pak, { name: unique("sentinel") });
  await targetStack(broker, agentId, stack.id);
  return { stackId: stack.id, commit: () => createObject(broker, gen.pak, stack.id, CONFIGMAP_YAML(unique("sentinel"))) };
}

/**
 * Backdates an object as if it had been submitted `minutes` ago. Objects are immutable (a
 * trigger refuses updates), so this one transaction runs with triggers off, as a restore would.
 */
export async function backdateObject(broker: TestBroker, objectId: string, minutes: number): Promise<void> {
  const client = await broker.db.sql.connect();
  try {
    await client.query("BEGIN");
    await client.query("SET LOCAL session_replication_role = replica");
    await client.query("UPDATE deployment_objects SET created_at = now() - make_interval(mins => $2) WHERE id = $1", [
      objectId,
      minutes,
    ]);
    await client.query("COMMIT");
  } finally {
    client.release();
  }
}
