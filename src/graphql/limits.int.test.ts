import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createGenerator, createStack } from "../../test/factories.js";
import { expectNoLeaks } from "../../test/leaks.js";

let broker: TestBroker;
let gen: { id: string; pak: string };

beforeAll(async () => {
  broker = await startTestBroker();
  gen = await createGenerator(broker);
});

async function post(target: TestBroker, body: string, pak = target.adminPak) {
  const res = await fetch(`${target.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${pak}` },
    body,
  });
  const text = await res.text();
  expectNoLeaks(text);
  return {
    status: res.status,
    text,
    json: JSON.parse(text) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[]; code?: string },
  };
}

/** A ConfigMap of about `bytes` bytes, one data entry per line. */
function bigConfigMap(bytes: number): string {
  const lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: big", "data:"];
  for (let i = 0; lines.length * 100 < bytes; i++) lines.push(`  k${i}: "${"x".repeat(90)}"`);
  return `${lines.join("\n")}\n`;
}

const CREATE = `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) { deploymentObject { id yamlChecksum } } }`;

describe("request size", () => {
  it("refuses a body over the configured limit with 413 and a JSON code", async () => {
    const small = await startTestBroker({ BROKKR__BROKER__BODY_LIMIT_BYTES: String(64 * 1024) }, broker.db);
    const body = JSON.stringify({
      query: CREATE,
      variables: { s: "00000000-0000-4000-8000-000000000000", y: bigConfigMap(100 * 1024) },
    });
    const res = await post(small, body);
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    await small.stop();
  });

  it("accepts a 5 MiB deployment object under the default limit and reads it back intact", async () => {
    const stack = await createStack(broker, gen.pak);
    const yaml = bigConfigMap(5 * 1024 * 1024);
    expect(yaml.length).toBeGreaterThanOrEqual(5 * 1024 * 1024);
    const created = ok(await broker.gql(CREATE, { s: stack.id, y: yaml }, gen.pak)).createDeploymentObject.deploymentObject;
    expect(created.yamlChecksum).toBe(createHash("sha256").update(yaml).digest("hex"));
    const read = ok(
      await broker.gql(`query($id: ID!) { deploymentObject(id: $id) { yamlContent } }`, { id: created.id }, gen.pak),
    );
    expect(read.deploymentObject.yamlContent === yaml).toBe(true);
  });

  it("refuses a body that is not JSON with BAD_USER_INPUT", async () => {
    const res = await post(broker, "{ not json");
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: "BAD_USER_INPUT" });
  });
});

describe("query shape", () => {
  it("refuses a query deeper than the depth limit without any data", async () => {
    const deep = `{ stacks { edges { node { generator { stacks { edges { node { generator { stacks { edges { node { id } } } } } } } } } } } }`;
    const res = await post(broker, JSON.stringify({ query: deep }));
    expect(res.json.errors?.length).toBeGreaterThan(0);
    expect(res.json.data ?? null).toBeNull();
    expect(res.json.errors![0]!.message).toMatch(/depth/i);
  });

  it("refuses a costly query with QUERY_TOO_COSTLY before running it", async () => {
    const costly = `{ stacks(first: 500) { edges { node { deploymentObjects(first: 500) { edges { node { id } } } } } } }`;
    const res = await post(broker, JSON.stringify({ query: costly }));
    expect(res.json.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_COSTLY");
    expect(res.json.data ?? null).toBeNull();
  });

  it("refuses an unknown input field with GRAPHQL_VALIDATION_FAILED", async () => {
    const res = await post(
      broker,
      JSON.stringify({ query: `mutation { createStack(input: { name: "x", colour: "red" }) { stack { id } } }` }),
      gen.pak,
    );
    expect(res.json.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(res.json.data ?? null).toBeNull();
  });

  it("refuses an unknown field in variables with BAD_USER_INPUT", async () => {
    const res = await post(
      broker,
      JSON.stringify({
        query: `mutation($i: CreateStackInput!) { createStack(input: $i) { stack { id } } }`,
        variables: { i: { name: "x", colour: "red" } },
      }),
      gen.pak,
    );
    expect(res.json.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("refuses a page size above the maximum with BAD_USER_INPUT", async () => {
    const res = await post(broker, JSON.stringify({ query: `{ stacks(first: 501) { edges { cursor } } }` }));
    expect(res.json.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });
});

describe("internal errors", () => {
  it("shows an unexpected database failure only as an internal error", async () => {
    const doomed = await startTestBroker();
    const g = await createGenerator(doomed);
    await createStack(doomed, g.pak, { labels: ["x"] });
    await doomed.db.sql.query("ALTER TABLE stack_labels RENAME TO stack_labels_gone");
    const res = await post(doomed, JSON.stringify({ query: `{ stacks { edges { node { labels } } } }` }));
    expect(res.json.errors?.[0]).toMatchObject({
      message: "Internal server error",
      extensions: { code: "INTERNAL_SERVER_ERROR" },
    });
    expect(res.text).not.toMatch(/stack_labels/);
    await doomed.stop();
  });
});
