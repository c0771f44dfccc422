import { beforeAll, describe, expect, it } from "vitest";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { CONFIGMAP_YAML, createGenerator, createStack } from "../../test/factories.js";

let broker: TestBroker;
let gen: { id: string; pak: string };
let other: { id: string; pak: string };
let stackId: string;

beforeAll(async () => {
  broker = await startTestBroker({ BROKKR__CORS__ALLOWED_ORIGINS: "https://console.example" });
  gen = await createGenerator(broker);
  other = await createGenerator(broker);
  stackId = (await createStack(broker, gen.pak)).id;
});

const CREATE = `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) { deploymentObject { id sequenceId yamlChecksum } } }`;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** The answer as a client sees it, ids and per-response headers masked. */
async function send(target: TestBroker, body: string, headers: Record<string, string>) {
  const res = await fetch(`${target.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  const text = await res.text();
  const masked = text.replace(UUID, "<id>").replace(/"sequenceId":"\d+"/g, '"sequenceId":"<n>"');
  const kept = [...res.headers].filter(([name]) => !["date", "etag", "content-length"].includes(name));
  return { status: res.status, headers: kept, body: masked };
}

/** Sent once the fast way and once forced the usual way (an unknown header hands it to Express and Apollo). */
async function bothWays(target: TestBroker, body: unknown, headers: Record<string, string> = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const before = { ...target.app.graphqlFastPath };
  const fast = await send(target, text, headers);
  const fastServed = target.app.graphqlFastPath.served - before.served;
  const usual = await send(target, text, { ...headers, "x-brokkr-test": "usual path" });
  return { fast, usual, fastServed };
}

const key = (pak: string) => ({ authorization: `Bearer ${pak}` });

describe("the fast path of POST /graphql answers as Express and Apollo do", () => {
  const cases: [string, () => unknown, () => Record<string, string>, boolean][] = [
    [
      "a created deployment object",
      () => ({ query: CREATE, variables: { s: stackId, y: CONFIGMAP_YAML() } }),
      () => key(gen.pak),
      true,
    ],
    [
      "malformed YAML (BAD_USER_INPUT with line and column)",
      () => ({ query: CREATE, variables: { s: stackId, y: "a: [\n" } }),
      () => key(gen.pak),
      true,
    ],
    [
      "another generator's stack (FORBIDDEN)",
      () => ({ query: CREATE, variables: { s: stackId, y: CONFIGMAP_YAML() } }),
      () => key(other.pak),
      true,
    ],
    [
      "a query with an operation name",
      () => ({ query: "query Me { me { role id } }", operationName: "Me" }),
      () => key(gen.pak),
      true,
    ],
    [
      "a browser origin that is allowed",
      () => ({ query: "{ me { role } }" }),
      () => ({ ...key(gen.pak), origin: "https://console.example" }),
      true,
    ],
    [
      "a browser origin that is not",
      () => ({ query: "{ me { role } }" }),
      () => ({ ...key(gen.pak), origin: "https://elsewhere.example" }),
      true,
    ],
    ["variables that do not coerce", () => ({ query: CREATE, variables: { s: stackId } }), () => key(gen.pak), false],
    ["an unknown key", () => ({ query: "{ me { role } }" }), () => key(`brokkr_BR${"a".repeat(6)}_${"b".repeat(32)}`), false],
    ["no key", () => ({ query: "{ me { role } }" }), () => ({}), false],
    ["a validation error", () => ({ query: "{ me { nope } }" }), () => key(gen.pak), false],
    ["a subscription", () => ({ query: "subscription { agentEventsAdded { id } }" }), () => key(gen.pak), false],
    ["a body that is not JSON", () => "{ nope", () => key(gen.pak), false],
    ["a body that is a JSON string", () => '"{}"', () => key(gen.pak), false],
    ["a batch", () => [{ query: "{ me { role } }" }], () => key(gen.pak), false],
  ];
  for (const [name, body, headers, served] of cases) {
    it(`answers ${name} alike${served ? ", served fast" : ", handed to Apollo"}`, async () => {
      const { fast, usual, fastServed } = await bothWays(broker, body(), headers());
      expect(fast).toEqual(usual);
      expect(fastServed).toBe(served ? 1 : 0);
    });
  }

  it("caps the response size as Apollo does (400 RESPONSE_TOO_LARGE)", async () => {
    const small = await startTestBroker({ BROKKR__BROKER__MAX_RESPONSE_BYTES: "1024" }, broker.db);
    const yaml = `${CONFIGMAP_YAML()}  big: "${"x".repeat(2000)}"\n`;
    ok(await small.gql(CREATE, { s: stackId, y: yaml }, gen.pak));
    const read = {
      query: `query($s: ID!) { stack(id: $s) { latestDeploymentObject { yamlContent } } }`,
      variables: { s: stackId },
    };
    const { fast, usual, fastServed } = await bothWays(small, read, key(gen.pak));
    expect(fast).toEqual(usual);
    expect(fast.status).toBe(400);
    expect(fast.body).toContain("RESPONSE_TOO_LARGE");
    expect(fastServed).toBe(1);
    await small.stop();
  });

  it("keeps the idempotency key: a retried create answers with the first object", async () => {
    const body = { query: CREATE, variables: { s: stackId, y: CONFIGMAP_YAML("idem") } };
    const first = await send(broker, JSON.stringify(body), { ...key(gen.pak), "idempotency-key": "fast-1" });
    const again = await fetch(`${broker.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", ...key(gen.pak), "idempotency-key": "fast-1" },
      body: JSON.stringify(body),
    });
    expect(first.status).toBe(200);
    const ids = [first.body, await again.text()].map((t) => /"id":"([^"]+)"/.exec(t)?.[1]);
    expect(ids[0]).toBe("<id>");
    expect(ids[1]).toMatch(UUID);
    const objects = ok(
      await broker.gql(
        `query($s: ID!) { stack(id: $s) { deploymentObjects(first: 100) { edges { node { yamlContent } } } } }`,
        { s: stackId },
        gen.pak,
      ),
    ).stack.deploymentObjects.edges.filter(
      (e: { node: { yamlContent: string } }) => e.node.yamlContent === CONFIGMAP_YAML("idem"),
    );
    expect(objects).toHaveLength(1);
  });
});
