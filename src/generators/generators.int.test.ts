import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createGenerator, createObject, createStack, unique } from "../../test/factories.js";

let broker: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker();
});

const ME = `{ me { role id } }`;
const LIST = `query($first: Int, $after: String) { generators(first: $first, after: $after) {
  edges { cursor node { id name } } pageInfo { hasNextPage endCursor } } }`;

describe("generators", () => {
  it("creates a generator whose PAK authenticates as that generator", async () => {
    const gen = await createGenerator(broker);
    expect(gen.pak).toMatch(/^brokkr_BR[1-9A-HJ-NP-Za-km-z]{6}_[1-9A-HJ-NP-Za-km-z]{24,}$/);
    expect(ok(await broker.gql(ME, {}, gen.pak)).me).toEqual({ role: "GENERATOR", id: gen.id });
    const data = ok(await broker.gql(`query($id: ID!) { generator(id: $id) { name deletedAt } }`, { id: gen.id }, gen.pak));
    expect(data.generator).toEqual({ name: gen.name, deletedAt: null });
  });

  it("pages through generators with first and after", async () => {
    for (let i = 0; i < 3; i++) await createGenerator(broker, unique("page-gen"));
    const all = ok(await broker.gql(LIST, { first: 500 })).generators.edges.map((e: { node: { name: string } }) => e.node.name);
    const first = ok(await broker.gql(LIST, { first: 2 })).generators;
    expect(first.pageInfo).toEqual({ hasNextPage: true, endCursor: first.edges[1].cursor });
    const rest = ok(await broker.gql(LIST, { first: 500, after: first.pageInfo.endCursor })).generators;
    expect(rest.pageInfo.hasNextPage).toBe(false);
    expect([...first.edges, ...rest.edges].map((e: { node: { name: string } }) => e.node.name)).toEqual(all);
    expect(all).toEqual([...all].sort());
  });

  it("refuses a bogus cursor with BAD_USER_INPUT", async () => {
    const result = await broker.gql(LIST, { first: 2, after: "%%%" });
    expect(errorCode(result)).toBe("BAD_USER_INPUT");
    expect(result.errors?.[0]?.extensions?.field).toBe("after");
  });

  it("lists a generator's stacks", async () => {
    const gen = await createGenerator(broker);
    const stacks = [await createStack(broker, gen.pak), await createStack(broker, gen.pak)];
    const data = ok(
      await broker.gql(`query($id: ID!) { generator(id: $id) { stacks { edges { node { id } } } } }`, { id: gen.id }, gen.pak),
    );
    expect(data.generator.stacks.edges.map((e: { node: { id: string } }) => e.node.id).sort()).toEqual(
      stacks.map((s) => s.id).sort(),
    );
  });
});

describe("generator PAKs", () => {
  it("rotates a PAK: the old one stops working and the new one works", async () => {
    const gen = await createGenerator(broker);
    const data = ok(
      await broker.gql(
        `mutation($id: ID!) { rotateGeneratorPak(input: { id: $id }) { pak generator { id } } }`,
        { id: gen.id },
        gen.pak,
      ),
    );
    const fresh = data.rotateGeneratorPak.pak as string;
    expect(fresh).not.toBe(gen.pak);
    expect(errorCode(await broker.gql(ME, {}, gen.pak))).toBe("UNAUTHENTICATED");
    expect(ok(await broker.gql(ME, {}, fresh)).me).toEqual({ role: "GENERATOR", id: gen.id });
  });

  it("lets the admin rotate a generator's PAK", async () => {
    const gen = await createGenerator(broker);
    const data = ok(await broker.gql(`mutation($id: ID!) { rotateGeneratorPak(input: { id: $id }) { pak } }`, { id: gen.id }));
    expect(errorCode(await broker.gql(ME, {}, gen.pak))).toBe("UNAUTHENTICATED");
    expect(ok(await broker.gql(ME, {}, data.rotateGeneratorPak.pak)).me.id).toBe(gen.id);
  });
});

describe("deleting generators", () => {
  it("soft-deletes a generator's stacks with it, leaving a deletion marker on each", async () => {
    const gen = await createGenerator(broker);
    const stacks = [await createStack(broker, gen.pak), await createStack(broker, gen.pak)];
    await createObject(broker, gen.pak, stacks[0]!.id);
    const data = ok(await broker.gql(`mutation($id: ID!) { deleteGenerator(input: { id: $id }) { deletedId } }`, { id: gen.id }));
    expect(data.deleteGenerator.deletedId).toBe(gen.id);
    for (const stack of stacks) {
      const s = ok(
        await broker.gql(`query($id: ID!) { stack(id: $id) { deletedAt latestDeploymentObject { isDeletionMarker } } }`, {
          id: stack.id,
        }),
      );
      expect(s.stack.deletedAt).not.toBeNull();
      expect(s.stack.latestDeploymentObject).toEqual({ isDeletionMarker: true });
    }
    expect(errorCode(await broker.gql(`query($id: ID!) { generator(id: $id) { id } }`, { id: gen.id }))).toBe("NOT_FOUND");
  });

  it("stops accepting a deleted generator's PAK", async () => {
    const gen = await createGenerator(broker);
    await broker.gql(`mutation($id: ID!) { deleteGenerator(input: { id: $id }) { deletedId } }`, { id: gen.id });
    expect(errorCode(await broker.gql(ME, {}, gen.pak))).toBe("UNAUTHENTICATED");
  });

  it("refuses to delete a generator twice with NOT_FOUND", async () => {
    const gen = await createGenerator(broker);
    const del = `mutation($id: ID!) { deleteGenerator(input: { id: $id }) { deletedId } }`;
    ok(await broker.gql(del, { id: gen.id }));
    expect(errorCode(await broker.gql(del, { id: gen.id }))).toBe("NOT_FOUND");
  });

  it("frees a deleted generator's name for a new generator", async () => {
    const gen = await createGenerator(broker);
    ok(await broker.gql(`mutation($id: ID!) { deleteGenerator(input: { id: $id }) { deletedId } }`, { id: gen.id }));
    const again = await createGenerator(broker, gen.name);
    expect(again.id).not.toBe(gen.id);
  });
});
