import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createGenerator, createObject, createStack, deleteStack, unique } from "../../test/factories.js";

let broker: TestBroker;
let gen: { id: string; pak: string };

beforeAll(async () => {
  broker = await startTestBroker();
  gen = await createGenerator(broker);
});

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
const names = (conn: { edges: { node: { name: string } }[] }) => conn.edges.map((e) => e.node.name);

const STACK = `query($id: ID!) { stack(id: $id) {
  id name description deletedAt generator { id } labels annotations { key value }
  latestDeploymentObject { id isDeletionMarker yamlContent yamlChecksum } } }`;

const LIST = `query($f: StackFilter, $first: Int, $after: String) {
  stacks(filter: $f, first: $first, after: $after) { edges { cursor node { id name } } pageInfo { hasNextPage endCursor } } }`;

describe("creating and updating stacks", () => {
  it("creates a stack with labels and annotations and reads it back", async () => {
    const stack = await createStack(broker, gen.pak, {
      labels: ["b", "a"],
      annotations: [{ key: "team", value: "core" }],
      description: "demo",
    });
    const data = ok(await broker.gql(STACK, { id: stack.id }, gen.pak));
    expect(data.stack).toMatchObject({
      name: stack.name,
      description: "demo",
      deletedAt: null,
      generator: { id: gen.id },
      labels: ["a", "b"],
      annotations: [{ key: "team", value: "core" }],
      latestDeploymentObject: null,
    });
  });

  it("lets the admin create a stack for a named generator", async () => {
    const stack = await createStack(broker, broker.adminPak, { generatorId: gen.id });
    expect(ok(await broker.gql(STACK, { id: stack.id }, gen.pak)).stack.generator.id).toBe(gen.id);
  });

  it("updates a stack's name and description", async () => {
    const stack = await createStack(broker, gen.pak);
    const name = unique("renamed");
    const data = ok(
      await broker.gql(
        `mutation($id: ID!, $n: String!) { updateStack(input: { id: $id, name: $n, description: "new" }) { stack { name description } } }`,
        { id: stack.id, n: name },
        gen.pak,
      ),
    );
    expect(data.updateStack.stack).toEqual({ name, description: "new" });
  });

  it("adds and removes labels, and sets, overwrites and removes annotations", async () => {
    const stack = await createStack(broker, gen.pak);
    await broker.gql(
      `mutation($s: ID!) { addStackLabel(input: { stackId: $s, label: "x" }) { stack { id } } }`,
      { s: stack.id },
      gen.pak,
    );
    await broker.gql(
      `mutation($s: ID!) { addStackLabel(input: { stackId: $s, label: "y" }) { stack { id } } }`,
      { s: stack.id },
      gen.pak,
    );
    await broker.gql(
      `mutation($s: ID!) { removeStackLabel(input: { stackId: $s, label: "x" }) { stack { id } } }`,
      { s: stack.id },
      gen.pak,
    );
    await broker.gql(
      `mutation($s: ID!) { setStackAnnotation(input: { stackId: $s, key: "k", value: "1" }) { stack { id } } }`,
      { s: stack.id },
      gen.pak,
    );
    await broker.gql(
      `mutation($s: ID!) { setStackAnnotation(input: { stackId: $s, key: "k", value: "2" }) { stack { id } } }`,
      { s: stack.id },
      gen.pak,
    );
    await broker.gql(
      `mutation($s: ID!) { setStackAnnotation(input: { stackId: $s, key: "gone", value: "1" }) { stack { id } } }`,
      { s: stack.id },
      gen.pak,
    );
    const last = ok(
      await broker.gql(
        `mutation($s: ID!) { removeStackAnnotation(input: { stackId: $s, key: "gone" }) { stack { labels annotations { key value } } } }`,
        { s: stack.id },
        gen.pak,
      ),
    );
    expect(last.removeStackAnnotation.stack).toEqual({ labels: ["y"], annotations: [{ key: "k", value: "2" }] });
  });
});

describe("listing stacks", () => {
  it("pages through stacks with first and after", async () => {
    const label = unique("page");
    const created = [];
    for (let i = 0; i < 5; i++) created.push((await createStack(broker, gen.pak, { labels: [label] })).name);
    const seen: string[] = [];
    let after: string | null = null;
    const pages: boolean[] = [];
    do {
      const data: Record<string, any> = ok(await broker.gql(LIST, { f: { labels: [label] }, first: 2, after }, gen.pak));
      seen.push(...names(data.stacks));
      pages.push(data.stacks.pageInfo.hasNextPage);
      expect(data.stacks.pageInfo.endCursor).toBe(data.stacks.edges.at(-1).cursor);
      after = data.stacks.pageInfo.hasNextPage ? data.stacks.pageInfo.endCursor : null;
    } while (after);
    expect(pages).toEqual([true, true, false]);
    expect(seen).toEqual([...created].sort());
  });

  it("refuses a bogus cursor with BAD_USER_INPUT", async () => {
    for (const after of ["not-a-cursor", Buffer.from(JSON.stringify(["a", "not-a-uuid"])).toString("base64url")]) {
      const result = await broker.gql(LIST, { first: 2, after }, gen.pak);
      expect(errorCode(result)).toBe("BAD_USER_INPUT");
      expect(result.errors?.[0]?.extensions?.field).toBe("after");
    }
  });

  it("selects stacks that carry every listed label", async () => {
    const [l1, l2] = [unique("l"), unique("l")];
    const both = await createStack(broker, gen.pak, { labels: [l1, l2] });
    await createStack(broker, gen.pak, { labels: [l1] });
    await createStack(broker, gen.pak, { labels: [l2] });
    expect(names(ok(await broker.gql(LIST, { f: { labels: [l1, l2] } }, gen.pak)).stacks)).toEqual([both.name]);
    expect(names(ok(await broker.gql(LIST, { f: { labels: [l1] } }, gen.pak)).stacks)).toHaveLength(2);
  });

  it("selects stacks by annotation key and value", async () => {
    const key = unique("k");
    const match = await createStack(broker, gen.pak, { annotations: [{ key, value: "yes" }] });
    await createStack(broker, gen.pak, { annotations: [{ key, value: "no" }] });
    expect(names(ok(await broker.gql(LIST, { f: { annotations: [{ key, value: "yes" }] } }, gen.pak)).stacks)).toEqual([
      match.name,
    ]);
  });
});

describe("deleting stacks", () => {
  it("soft-deletes a stack, returning a deletion marker that becomes its latest object", async () => {
    const label = unique("soft");
    const stack = await createStack(broker, gen.pak, { labels: [label] });
    await createObject(broker, gen.pak, stack.id);
    const result = await deleteStack(broker, stack.id, { pak: gen.pak });
    expect(result.deletedId).toBe(stack.id);
    expect(result.deletionMarker).toMatchObject({ isDeletionMarker: true, yamlContent: "", yamlChecksum: sha256("") });
    const data = ok(await broker.gql(STACK, { id: stack.id }, gen.pak));
    expect(data.stack.deletedAt).not.toBeNull();
    expect(data.stack.latestDeploymentObject).toEqual({
      id: result.deletionMarker!.id,
      isDeletionMarker: true,
      yamlContent: "",
      yamlChecksum: sha256(""),
    });
    expect(ok(await broker.gql(LIST, { f: { labels: [label] } }, gen.pak)).stacks.edges).toEqual([]);
    expect(names(ok(await broker.gql(LIST, { f: { labels: [label], includeDeleted: true } }, gen.pak)).stacks)).toEqual([
      stack.name,
    ]);
  });

  it("refuses to soft-delete a stack twice", async () => {
    const stack = await createStack(broker, gen.pak);
    await deleteStack(broker, stack.id);
    const again = await broker.gql(`mutation($id: ID!) { deleteStack(input: { id: $id }) { deletedId } }`, { id: stack.id });
    expect(errorCode(again)).toBe("NOT_FOUND");
  });

  it("hard-deletes a stack together with its deployment objects", async () => {
    const stack = await createStack(broker, gen.pak);
    const object = await createObject(broker, gen.pak, stack.id);
    const result = await deleteStack(broker, stack.id, { pak: gen.pak, hard: true });
    expect(result).toEqual({ deletedId: stack.id, deletionMarker: null });
    expect(errorCode(await broker.gql(STACK, { id: stack.id }))).toBe("NOT_FOUND");
    expect(errorCode(await broker.gql(`query($id: ID!) { deploymentObject(id: $id) { id } }`, { id: object.id }))).toBe(
      "NOT_FOUND",
    );
    const { rows } = await broker.db.sql.query("SELECT count(*)::int AS n FROM deployment_objects WHERE stack_id = $1", [
      stack.id,
    ]);
    expect(rows[0].n).toBe(0);
  });
});
