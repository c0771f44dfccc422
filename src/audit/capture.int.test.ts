import { beforeAll, describe, expect, it, vi } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { connectBrokkrAgent } from "../../test/brokkr-agent.js";
import { createAgent, createGenerator, unique } from "../../test/factories.js";
import { overWs } from "../../test/graphql-transports.js";
import { wsClient } from "../../test/subscriptions.js";
import { mintPak } from "../auth/pak.js";

/*
 * Every mutation through every API, and every authentication failure, becomes an audit row:
 * driven through the real broker, read back from PostgreSQL.
 */
let broker: TestBroker;
const UA = "audit-test/1.0";

beforeAll(async () => {
  broker = await startTestBroker();
});

type Row = Record<string, any>;
async function rowsWhere(where: string, params: unknown[] = []): Promise<Row[]> {
  await broker.app.audit.flush();
  return (await broker.db.sql.query(`SELECT * FROM audit_logs WHERE ${where} ORDER BY seq`, params)).rows;
}
/** Waits for exactly one row matching; entries are written off the request path. */
async function oneRow(where: string, params: unknown[] = []): Promise<Row> {
  let rows: Row[] = [];
  await vi.waitFor(async () => {
    rows = await rowsWhere(where, params);
    expect(rows).toHaveLength(1);
  });
  return rows[0] as Row;
}
const everyRowText = async () =>
  (await broker.db.sql.query("SELECT string_agg(audit_logs::text, ' ') AS t FROM audit_logs")).rows[0].t as string;

async function gqlAs(pak: string | null, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${broker.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": UA, ...(pak ? { authorization: `Bearer ${pak}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] };
}
const rest = (pak: string | null, method: string, path: string, body?: unknown) =>
  fetch(`${broker.url}/api/v1${path}`, {
    method,
    headers: { "content-type": "application/json", "user-agent": UA, ...(pak ? { authorization: pak } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe("mutations through every API", () => {
  it("records a GraphQL mutation with its actor, action, resource, input and client", async () => {
    const gen = await createGenerator(broker);
    const name = unique("web");
    const made = await gqlAs(gen.pak, `mutation($n: String!) { createStack(input: { name: $n }) { stack { id } } }`, { n: name });
    const stackId = made.data.createStack.stack.id;
    const row = await oneRow("action = 'stack.created' AND resource_id = $1", [stackId]);
    expect(row).toMatchObject({
      actor_type: "generator",
      actor_id: gen.id,
      actor_name: gen.name,
      resource_type: "stack",
      ip_address: "127.0.0.1",
      user_agent: UA,
    });
    expect(row.details).toMatchObject({ via: "graphql", operation: "createStack", input: { name }, outcome: "success" });
    expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("records the same operation over REST under the same action", async () => {
    const gen = await createGenerator(broker);
    const res = await rest(gen.pak, "POST", "/stacks", { name: unique("api"), generator_id: gen.id });
    expect(res.status).toBe(201);
    const stackId = ((await res.json()) as { id: string }).id;
    const row = await oneRow("action = 'stack.created' AND resource_id = $1", [stackId]);
    expect(row).toMatchObject({ actor_type: "generator", actor_id: gen.id, resource_type: "stack", user_agent: UA });
    expect(row.details).toMatchObject({ via: "rest", operation: "create_stack", method: "POST", status: 201 });
    const label = await rest(gen.pak, "POST", `/stacks/${stackId}/labels`, "prod");
    expect(label.status).toBe(201);
    expect((await oneRow("action = 'stack_label.added' AND resource_id = $1", [stackId])).details).toMatchObject({
      via: "rest",
      input: "prod",
    });
  });

  it("records a mutation sent over graphql-ws", async () => {
    const name = unique("ws-gen");
    const answer = await overWs(
      broker,
      `mutation($n: String!) { createGenerator(input: { name: $n }) { generator { id } pak } }`,
      {
        n: name,
      },
    );
    const id = answer.data?.createGenerator.generator.id;
    const row = await oneRow("action = 'generator.created' AND resource_id = $1", [id]);
    expect(row).toMatchObject({ actor_type: "admin", actor_name: "admin", ip_address: "127.0.0.1" });
    expect(row.details).toMatchObject({ via: "graphql-ws", input: { name } });
  });

  it("records a state-changing frame of Brokkr's agent websocket", async () => {
    const agent = await createAgent(broker, { activate: true });
    const socket = await connectBrokkrAgent(broker, agent.pak);
    socket.send("heartbeat", { agent_id: agent.id, sent_at: new Date().toISOString(), k8s_reachable: true });
    const row = await oneRow("action = 'heartbeat.recorded' AND actor_id = $1", [agent.id]);
    expect(row).toMatchObject({ actor_type: "agent", actor_name: agent.name, resource_type: "agent", resource_id: agent.id });
    expect(row.details).toMatchObject({ via: "agent-ws", operation: "heartbeat", outcome: "success" });
    await socket.close();
  });

  it("records a refused mutation with its error code", async () => {
    const owner = await createGenerator(broker);
    const other = await createGenerator(broker);
    const refused = await gqlAs(other.pak, `mutation($id: ID!) { deleteGenerator(input: { id: $id }) { deletedId } }`, {
      id: owner.id,
    });
    expect(refused.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const row = await oneRow("action = 'generator.deleted' AND resource_id = $1", [owner.id]);
    expect(row).toMatchObject({ actor_id: other.id });
    expect(row.details).toMatchObject({ outcome: "failure", error: "FORBIDDEN" });
  });

  it("never records a PAK: neither a minted one nor one sent as input", async () => {
    const gen = await createGenerator(broker);
    const agent = await rest(broker.adminPak, "POST", "/agents", { name: unique("a"), cluster_name: "c" });
    const { initial_pak } = (await agent.json()) as { initial_pak: string };
    await gqlAs(broker.adminPak, `mutation($id: ID!) { rotateGeneratorPak(input: { id: $id }) { pak } }`, { id: gen.id });
    await oneRow("action = 'generator_pak.rotated' AND resource_id = $1", [gen.id]);
    const text = await everyRowText();
    for (const pak of [gen.pak, initial_pak, broker.adminPak]) expect(text).not.toContain(pak.split("_")[2]);
  });

  it("does not record queries", async () => {
    const before = (await rowsWhere("true")).length;
    await gqlAs(broker.adminPak, "{ generators { edges { node { id } } } }");
    await rest(broker.adminPak, "GET", "/stacks");
    await rest(broker.adminPak, "POST", "/auth/pak");
    expect(await rowsWhere("true")).toHaveLength(before);
  });
});

describe("authentication failures", () => {
  it("records a wrong REST key with the client's address and user agent, never the key", async () => {
    const wrong = mintPak().pak;
    expect((await rest(wrong, "GET", "/stacks")).status).toBe(401);
    const row = await oneRow("action = 'auth.failed' AND details->>'via' = 'rest' AND details->>'reason' = 'unknown_key'");
    expect(row).toMatchObject({ actor_type: "anonymous", actor_id: null, ip_address: "127.0.0.1", user_agent: UA });
    expect(await everyRowText()).not.toContain(wrong.split("_")[2]);
  });

  it("records a malformed GraphQL key, but not a keyless query (the explorer introspects without one)", async () => {
    await gqlAs("not-a-pak", "{ me { role } }");
    await oneRow("action = 'auth.failed' AND details->>'via' = 'graphql' AND details->>'reason' = 'malformed_key'");
    await gqlAs(null, "{ __typename }");
    expect(
      await rowsWhere("action = 'auth.failed' AND details->>'reason' = 'missing_key' AND details->>'via' = 'graphql'"),
    ).toEqual([]);
  });

  it("records refused websocket keys on both sockets", async () => {
    await expect(connectBrokkrAgent(broker, null)).rejects.toMatchObject({ status: 401 });
    await oneRow("action = 'auth.failed' AND details->>'via' = 'agent-ws' AND details->>'reason' = 'missing_key'");
    const client = wsClient(broker.url, mintPak().pak);
    const closed = new Promise<void>((resolve) => client.on("closed", () => resolve()));
    client.subscribe({ query: "{ me { role } }" }, { next: () => {}, error: () => {}, complete: () => {} });
    await closed;
    await client.dispose();
    await oneRow("action = 'auth.failed' AND details->>'via' = 'graphql-ws' AND details->>'reason' = 'unknown_key'");
  });
});
