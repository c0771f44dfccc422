import type { TestBroker } from "./broker.js";
import { ok } from "./broker.js";

let counter = 0;
export const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

export const CONFIGMAP_YAML = (name = "demo") =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  key: value\n`;

export async function createGenerator(broker: TestBroker, name = unique("gen")) {
  const data = ok(
    await broker.gql<{ createGenerator: { generator: { id: string; name: string }; pak: string } }>(
      `mutation($name: String!) { createGenerator(input: { name: $name }) { generator { id name } pak } }`,
      { name },
    ),
  );
  return { id: data.createGenerator.generator.id, name, pak: data.createGenerator.pak };
}

export async function createAgent(broker: TestBroker, opts: { name?: string; activate?: boolean; labels?: string[] } = {}) {
  const name = opts.name ?? unique("agent");
  const data = ok(
    await broker.gql<{ createAgent: { agent: { id: string }; pak: string } }>(
      `mutation($name: String!, $labels: [String!]) {
         createAgent(input: { name: $name, clusterName: "test-cluster", labels: $labels }) { agent { id } pak } }`,
      { name, labels: opts.labels ?? [] },
    ),
  );
  const agent = { id: data.createAgent.agent.id, name, pak: data.createAgent.pak };
  if (opts.activate) {
    ok(await broker.gql(`mutation($id: ID!) { updateAgent(input: { id: $id, status: ACTIVE }) { agent { id } } }`, { id: agent.id }));
  }
  return agent;
}

export async function createStack(broker: TestBroker, pak: string, opts: { name?: string; generatorId?: string; labels?: string[] } = {}) {
  const name = opts.name ?? unique("stack");
  const data = ok(
    await broker.gql<{ createStack: { stack: { id: string } } }>(
      `mutation($name: String!, $generatorId: ID, $labels: [String!]) {
         createStack(input: { name: $name, generatorId: $generatorId, labels: $labels }) { stack { id } } }`,
      { name, generatorId: opts.generatorId ?? null, labels: opts.labels ?? [] },
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

export async function registerAgent(broker: TestBroker, agentId: string, generatorId: string) {
  ok(await broker.gql(
    `mutation($a: ID!, $g: ID!) { registerAgent(input: { agentId: $a, generatorId: $g }) { agent { id } } }`,
    { a: agentId, g: generatorId },
  ));
}

export async function targetStack(broker: TestBroker, agentId: string, stackId: string, pak?: string) {
  ok(await broker.gql(
    `mutation($a: ID!, $s: ID!) { targetStack(input: { agentId: $a, stackId: $s }) { agent { id } } }`,
    { a: agentId, s: stackId },
    pak ?? broker.adminPak,
  ));
}
