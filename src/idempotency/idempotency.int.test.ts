import { beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type GraphQLResult, type TestBroker } from "../../test/broker.js";
import {
  CONFIGMAP_YAML,
  createAgent,
  createGenerator,
  createObject,
  createStack,
  targetStack,
  unique,
} from "../../test/factories.js";

let broker: TestBroker;
let gen: { id: string; pak: string };

beforeAll(async () => {
  broker = await startTestBroker();
  gen = await createGenerator(broker);
});

async function gql(query: string, variables: Record<string, unknown>, pak: string, key?: string): Promise<GraphQLResult> {
  const res = await fetch(`${broker.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${pak}`, ...(key ? { "idempotency-key": key } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { ...((await res.json()) as GraphQLResult), status: res.status };
}

const CREATE_OBJECT = `mutation($i: CreateDeploymentObjectInput!) { createDeploymentObject(input: $i) { deploymentObject { id sequenceId } clientMutationId } }`;
const CREATE_STACK = `mutation($i: CreateStackInput!) { createStack(input: $i) { stack { id name } clientMutationId } }`;
const CREATE_GENERATOR = `mutation($i: CreateGeneratorInput!) { createGenerator(input: $i) { generator { id } pak clientMutationId } }`;
const CREATE_AGENT = `mutation($i: CreateAgentInput!) { createAgent(input: $i) { agent { id } pak } }`;

async function count(sql: string, params: unknown[]): Promise<number> {
  return (await broker.db.sql.query(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0].n;
}

describe("idempotency keys on creates", () => {
  it("returns the first deployment object to a retry with the same Idempotency-Key header", async () => {
    const stack = await createStack(broker, gen.pak);
    const key = unique("key");
    const input = { i: { stackId: stack.id, yamlContent: CONFIGMAP_YAML("once") } };
    const first = await gql(CREATE_OBJECT, input, gen.pak, key);
    const retry = await gql(CREATE_OBJECT, input, gen.pak, key);
    expect(first.errors).toBeUndefined();
    expect(retry.data).toEqual(first.data);
    expect(await count("deployment_objects WHERE stack_id = $1", [stack.id])).toBe(1);
    expect((await gql(CREATE_OBJECT, input, gen.pak)).errors).toBeUndefined();
    expect(await count("deployment_objects WHERE stack_id = $1", [stack.id])).toBe(2);
  });

  it("returns the first stack to a retry with the same clientMutationId, and echoes it", async () => {
    const input = { i: { name: unique("s"), labels: ["a"], clientMutationId: unique("cm") } };
    const first = await gql(CREATE_STACK, input, gen.pak);
    const retry = await gql(CREATE_STACK, input, gen.pak);
    expect(first.data?.createStack.clientMutationId).toBe(input.i.clientMutationId);
    expect(retry.data).toEqual(first.data);
    expect(retry.errors).toBeUndefined();
  });

  it("creates once when retries race each other", async () => {
    const stack = await createStack(broker, gen.pak);
    const input = { i: { stackId: stack.id, yamlContent: CONFIGMAP_YAML("race"), clientMutationId: unique("race") } };
    const results = await Promise.all(Array.from({ length: 6 }, () => gql(CREATE_OBJECT, input, gen.pak)));
    const ids = new Set(results.map((r) => r.data?.createDeploymentObject.deploymentObject.id));
    expect(results.every((r) => r.errors === undefined)).toBe(true);
    expect(ids.size).toBe(1);
    expect(await count("deployment_objects WHERE stack_id = $1", [stack.id])).toBe(1);
  });

  it("refuses the same key with a different input with CONFLICT naming the key's field", async () => {
    const stack = await createStack(broker, gen.pak);
    const key = unique("key");
    await gql(CREATE_OBJECT, { i: { stackId: stack.id, yamlContent: CONFIGMAP_YAML("one") } }, gen.pak, key);
    const other = await gql(CREATE_OBJECT, { i: { stackId: stack.id, yamlContent: CONFIGMAP_YAML("two") } }, gen.pak, key);
    expect(other.errors?.[0]?.extensions).toEqual({ code: "CONFLICT", field: "Idempotency-Key" });
    const cm = unique("cm");
    await gql(CREATE_STACK, { i: { name: unique("s"), clientMutationId: cm } }, gen.pak);
    const renamed = await gql(CREATE_STACK, { i: { name: unique("s"), clientMutationId: cm } }, gen.pak);
    expect(renamed.errors?.[0]?.extensions).toEqual({ code: "CONFLICT", field: "clientMutationId" });
  });

  it("keeps keys apart per identity", async () => {
    const other = await createGenerator(broker);
    const key = unique("shared");
    const a = await gql(CREATE_STACK, { i: { name: unique("s") } }, gen.pak, key);
    const b = await gql(CREATE_STACK, { i: { name: unique("s") } }, other.pak, key);
    expect(a.errors).toBeUndefined();
    expect(b.errors).toBeUndefined();
    expect(a.data?.createStack.stack.id).not.toBe(b.data?.createStack.stack.id);
  });

  it("creates anew once the key has expired", async () => {
    const key = unique("ttl");
    const input = { i: { name: unique("s") } };
    const first = await gql(CREATE_STACK, input, gen.pak, key);
    await broker.db.sql.query("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1", [key]);
    await broker.db.sql.query("UPDATE stacks SET deleted_at = now() WHERE id = $1", [first.data?.createStack.stack.id]);
    const again = await gql(CREATE_STACK, input, gen.pak, key);
    expect(again.errors).toBeUndefined();
    expect(again.data?.createStack.stack.id).not.toBe(first.data?.createStack.stack.id);
  });

  it("does not re-reveal a PAK: a retried createGenerator or createAgent is a CONFLICT naming the id", async () => {
    const key = unique("pak");
    const input = { i: { name: unique("g"), clientMutationId: key } };
    const first = await gql(CREATE_GENERATOR, input, broker.adminPak);
    const retry = await gql(CREATE_GENERATOR, input, broker.adminPak);
    const id = first.data?.createGenerator.generator.id;
    expect(retry.errors?.[0]?.extensions?.code).toBe("CONFLICT");
    expect(retry.errors?.[0]?.message).toContain(id);
    expect(JSON.stringify(retry)).not.toContain(first.data?.createGenerator.pak);
    const stored = await broker.db.sql.query("SELECT row_to_json(k)::text AS row FROM idempotency_keys k WHERE key = $1", [key]);
    expect(stored.rows[0].row).not.toContain(first.data?.createGenerator.pak.split("_")[2]);
    expect(await count("generators WHERE name = $1", [input.i.name])).toBe(1);
    const agentInput = { i: { name: unique("a"), clusterName: "c", clientMutationId: key } };
    const agent = await gql(CREATE_AGENT, agentInput, broker.adminPak);
    expect((await gql(CREATE_AGENT, agentInput, broker.adminPak)).errors?.[0]?.message).toContain(
      agent.data?.createAgent.agent.id,
    );
  });

  it("forgets the key of a create that failed, so a corrected retry succeeds", async () => {
    const key = unique("fail");
    const taken = await createStack(broker, gen.pak);
    expect((await gql(CREATE_STACK, { i: { name: taken.name } }, gen.pak, key)).errors?.[0]?.extensions?.code).toBe("CONFLICT");
    expect(await count("idempotency_keys WHERE key = $1", [key])).toBe(0);
  });

  it("returns the first agent event to a REST retry with the same Idempotency-Key", async () => {
    const agent = await createAgent(broker, { activate: true });
    const stack = await createStack(broker, gen.pak);
    await targetStack(broker, agent.id, stack.id);
    const object = await createObject(broker, gen.pak, stack.id);
    const post = () =>
      fetch(`${broker.url}/api/v1/agents/${agent.id}/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${agent.pak}`, "content-type": "application/json", "idempotency-key": "event-1" },
        body: JSON.stringify({ deployment_object_id: object.id, status: "SUCCESS" }),
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
    const first = await post();
    const retry = await post();
    expect(first.status).toBe(201);
    expect(retry).toEqual(first);
    expect(await count("agent_events WHERE agent_id = $1", [agent.id])).toBe(1);
  });
});
