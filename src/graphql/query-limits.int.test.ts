import { getIntrospectionQuery } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createGenerator, createObject, createStack, unique } from "../../test/factories.js";
import { countBrokerStatements } from "../../test/count-statements.js";
import { codeOf, overHttp, transports } from "../../test/graphql-transports.js";
import { MAX_LIST_ARGUMENT } from "./limits.js";

let broker: TestBroker;
/** More fragment spreads allowed (to reach the memoised count), fewer directives (to reach that limit). */
let tuned: TestBroker;
let gen: { id: string; pak: string };

beforeAll(async () => {
  broker = await startTestBroker();
  tuned = await startTestBroker({ BROKKR__BROKER__MAX_FRAGMENT_SPREADS: "100", BROKKR__BROKER__MAX_DIRECTIVES: "3" }, broker.db);
  gen = await createGenerator(broker);
});

/** Fragments that each spread the next twice: 2^(levels+1) + 2 fields once expanded. */
function fragmentBomb(levels: number): string {
  let q = `{stacks{edges{node{...a0}}}}`;
  for (let i = 0; i < levels; i++) q += `fragment a${i} on Stack{id ...a${i + 1} ...a${i + 1}}`;
  return `${q}fragment a${levels} on Stack{name}`;
}

describe.each(transports)("query limits over %s", (_name, send) => {
  it("refuses a 1 KB fragment bomb by its spread count before validating it", async () => {
    const bomb = fragmentBomb(25);
    expect(bomb.length).toBeLessThan(1024);
    // No key at all over HTTP; websockets need connection_init first, so the admin key there.
    const key = send === overHttp ? null : broker.adminPak;
    const { result, statements } = await countBrokerStatements(() => send(broker, bomb, {}, key));
    expect(codeOf(result)).toBe("TOO_MANY_FRAGMENTS");
    expect(statements).toBe(0);
  });

  it("counts each fragment once where more spreads are allowed, before any database work", async () => {
    const bomb = fragmentBomb(25);
    const { result, statements } = await countBrokerStatements(() => send(tuned, bomb));
    expect(codeOf(result)).toBe("TOO_MANY_SELECTIONS");
    // 2^26 + 2 expanded selections: only a memoised count reaches that number at all.
    expect(result.errors![0]!.message).toContain(String(2 ** 26 + 2));
    expect(statements).toBe(0);
  });

  it("refuses a selection set repeating one field, which validation would compare pairwise", async () => {
    const repeated = `{ ${"me { id } ".repeat(200)} }`;
    expect(codeOf(await send(broker, repeated))).toBe("TOO_MANY_SELECTIONS");
    const inline = `{ ${"... on Query { me { id } } ".repeat(25)} }`;
    expect(codeOf(await send(broker, inline))).toBe("TOO_MANY_FRAGMENTS");
    expect(codeOf(await send(broker, `{ me { id } me { role } }`))).toBeUndefined();
  });

  it("refuses cyclic and unknown fragments as GRAPHQL_VALIDATION_FAILED", async () => {
    const cyclic = `{ stacks { edges { node { ...A } } } } fragment A on Stack { id ...B } fragment B on Stack { name ...A }`;
    for (const query of [cyclic, `{ stacks { edges { node { ...Nowhere } } } }`]) {
      const answer = await send(broker, query);
      expect(codeOf(answer)).toBe("GRAPHQL_VALIDATION_FAILED");
      if (answer.status !== undefined) expect(answer.status).toBe(400);
    }
  });

  it("stops parsing past the token limit", async () => {
    const many = `{ ${Array.from({ length: 300 }, (_, i) => `f${i}: me { id }`).join(" ")} }`;
    const answer = await send(broker, many);
    expect(codeOf(answer)).toBe("GRAPHQL_PARSE_FAILED");
    expect(answer.errors![0]!.message).toMatch(/1000 tokens/);
  });

  it("refuses a document over the size limit before parsing it", async () => {
    const huge = `{ me { id } } # ${"x".repeat(70 * 1024)}`;
    expect(codeOf(await send(broker, huge))).toBe("DOCUMENT_TOO_LARGE");
  });

  it("refuses more aliases than the limit before any resolver runs", async () => {
    const aliases = Array.from({ length: 60 }, (_, i) => `a${i}: deploymentObject(id: $id) { yamlContent }`).join(" ");
    const query = `query($id: ID!) { ${aliases} }`;
    const { result, statements } = await countBrokerStatements(() =>
      send(broker, query, { id: "00000000-0000-4000-8000-000000000000" }),
    );
    expect(codeOf(result)).toBe("TOO_MANY_ALIASES");
    expect(statements).toBe(0);
  });

  it("refuses more directives than the limit, counted through fragments", async () => {
    const query = `{ me { ...M ...M } } fragment M on Me { id @include(if: true) role @skip(if: false) }`;
    expect(codeOf(await send(tuned, query))).toBe("TOO_MANY_DIRECTIVES");
    expect(
      codeOf(await send(tuned, `{ me { ...M } } fragment M on Me { id @include(if: true) role @skip(if: false) }`)),
    ).toBeUndefined();
  });

  it("refuses a query nested deeper than the depth limit", async () => {
    const deep = `{ stacks { edges { node { generator { stacks { edges { node { generator { stacks { edges { node { id } } } } } } } } } } } }`;
    expect(codeOf(await send(broker, deep))).toBe("QUERY_TOO_DEEP");
  });

  it("answers the standard introspection query, nested 14 deep, that explorers send", async () => {
    const result = await send(broker, getIntrospectionQuery({ inputValueDeprecation: true, schemaDescription: true }));
    expect(codeOf(result)).toBeUndefined();
    expect((result as { data?: { __schema?: { queryType?: { name: string } } } }).data?.__schema?.queryType?.name).toBe("Query");
  });

  it("still limits the depth of what nests under an introspection field's siblings", async () => {
    const deep = `{ __typename stacks { edges { node { generator { stacks { edges { node { generator { stacks { edges { node { id } } } } } } } } } } } }`;
    expect(codeOf(await send(broker, deep))).toBe("QUERY_TOO_DEEP");
  });

  it("counts unpaginated lists by their declared size", async () => {
    // 100 stacks × 50 targeted agents × 50 targets × 50 labels: far over the cost limit, though
    // it counted as a few hundred while every plain list cost 1.
    const query = `{ stacks(first: 100) { edges { node { targetedAgents { targets { labels } } } } } }`;
    expect(codeOf(await send(broker, query))).toBe("QUERY_TOO_COSTLY");
  });

  it(`refuses a list argument longer than ${MAX_LIST_ARGUMENT}, literal or in variables`, async () => {
    const labels = Array.from({ length: MAX_LIST_ARGUMENT + 1 }, (_, i) => `l${i}`);
    const literal = `{ stacks(filter: { labels: ${JSON.stringify(labels)} }) { edges { cursor } } }`;
    const fieldOf = (r: unknown) => (r as { errors?: { extensions?: { field?: string } }[] }).errors?.[0]?.extensions?.field;
    const refusedLiteral = await send(broker, literal);
    expect(codeOf(refusedLiteral)).toBe("LIST_TOO_LONG");
    expect(fieldOf(refusedLiteral)).toBe("filter.labels");
    const viaVariables = `query($f: StackFilter) { stacks(filter: $f) { edges { cursor } } }`;
    const refusedVariable = await send(broker, viaVariables, { f: { labels } });
    expect(codeOf(refusedVariable)).toBe("LIST_TOO_LONG");
    expect(fieldOf(refusedVariable)).toBe("$f.labels");
    expect(codeOf(await send(broker, viaVariables, { f: { labels: labels.slice(1) } }))).toBeUndefined();
  });

  it("refuses more mutations per request than the limit and writes none of them", async () => {
    const name = unique("burst");
    const writes = Array.from(
      { length: 11 },
      (_, i) => `m${i}: createStack(input: { name: "${name}-${i}" }) { stack { id } }`,
    ).join(" ");
    expect(codeOf(await send(broker, `mutation { ${writes} }`, {}, gen.pak))).toBe("TOO_MANY_MUTATIONS");
    // Through a fragment on Mutation, too.
    const viaFragment = `mutation { ...W } fragment W on Mutation { ${writes} }`;
    expect(codeOf(await send(broker, viaFragment, {}, gen.pak))).toBe("TOO_MANY_MUTATIONS");
    const listed = ok(await broker.gql(`{ stacks(first: 500) { edges { node { name } } } }`, {}, gen.pak));
    expect(listed.stacks.edges.filter((e: { node: { name: string } }) => e.node.name.startsWith(name))).toEqual([]);
  });
});

describe("response size", () => {
  it("refuses a response over the limit with RESPONSE_TOO_LARGE on both transports", async () => {
    const small = await startTestBroker({ BROKKR__BROKER__MAX_RESPONSE_BYTES: String(256 * 1024) }, broker.db);
    const stack = await createStack(small, gen.pak);
    const yaml = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  k: "${"x".repeat(60 * 1024)}"\n`;
    const object = await createObject(small, gen.pak, stack.id, yaml);
    // Five aliases of one 60 KB field: one string in memory, 300 KB written out.
    const query = `query($id: ID!) { ${[1, 2, 3, 4, 5].map((i) => `a${i}: deploymentObject(id: $id) { yamlContent }`).join(" ")} }`;
    for (const [, send] of transports) {
      const answer = await send(small, query, { id: object.id }, gen.pak);
      expect(codeOf(answer)).toBe("RESPONSE_TOO_LARGE");
      expect(answer.data ?? null).toBeNull();
    }
    const one = await overHttp(
      small,
      `query($id: ID!) { deploymentObject(id: $id) { yamlContent } }`,
      { id: object.id },
      gen.pak,
    );
    expect(one.data?.deploymentObject.yamlContent).toBe(yaml);
    await small.stop();
  });
});

describe("operations HTTP does not serve", () => {
  it("answers a subscription sent over HTTP POST with a coded 400", async () => {
    const answer = await overHttp(broker, `subscription { agentEventsAdded { id } }`);
    expect(answer.status).toBe(400);
    expect(codeOf(answer)).toBe("BAD_REQUEST");
  });
});
