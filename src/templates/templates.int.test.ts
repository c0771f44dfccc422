import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { countBrokerStatements } from "../../test/count-statements.js";
import { createAgent, createGenerator, unique } from "../../test/factories.js";
import { CREATE_TEMPLATE, createTemplate, NAME_SCHEMA, TEMPLATE_FIELDS } from "../../test/templates.js";

let broker: TestBroker;
let gen: { id: string; pak: string };
let other: { id: string; pak: string };

beforeAll(async () => {
  broker = await startTestBroker();
  gen = await createGenerator(broker);
  other = await createGenerator(broker);
});

const create = (pak: string, input: Record<string, unknown>) =>
  broker.gql(CREATE_TEMPLATE, { input: { name: unique("tpl"), parametersSchema: NAME_SCHEMA, ...input } }, pak);
const get = (pak: string, id: string) =>
  broker.gql<{ stackTemplate: { id: string; version: number } | null }>(
    `query($id: ID!) { stackTemplate(id: $id) { ${TEMPLATE_FIELDS} } }`,
    { id },
    pak,
  );
const list = (pak: string, filter: Record<string, unknown> = {}, first = 50, after?: string) =>
  broker.gql<{
    stackTemplates: {
      edges: { node: { id: string; name: string; version: number } }[];
      pageInfo: { endCursor: string; hasNextPage: boolean };
    };
  }>(
    `query($f: StackTemplateFilter, $first: Int, $after: String) {
       stackTemplates(filter: $f, first: $first, after: $after) { edges { node { id name version } } pageInfo { endCursor hasNextPage } } }`,
    { f: filter, first, after },
    pak,
  );
const update = (pak: string, id: string, templateContent: string) =>
  broker.gql<{ updateStackTemplate: { stackTemplate: { id: string; version: number; labels: string[] } } }>(
    `mutation($input: UpdateStackTemplateInput!) { updateStackTemplate(input: $input) { stackTemplate { id version labels } } }`,
    { input: { id, templateContent, parametersSchema: NAME_SCHEMA } },
    pak,
  );

describe("creating stack templates", () => {
  it("stores a generator's template as its own, version 1, with the SHA-256 of its body", async () => {
    const t = await createTemplate(broker, gen.pak, { templateContent: "kind: {{ name }}\n" });
    const read = ok(await get(gen.pak, t.id)).stackTemplate as unknown as Record<string, unknown>;
    expect(read).toMatchObject({ version: 1, generatorId: gen.id, templateContent: "kind: {{ name }}\n" });
    expect(read.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it("stores an admin's template as a system template", async () => {
    const t = await createTemplate(broker, broker.adminPak);
    expect((ok(await get(broker.adminPak, t.id)).stackTemplate as unknown as { generatorId: null }).generatorId).toBeNull();
  });

  it("refuses a body that does not parse, naming the line and column", async () => {
    const res = await create(gen.pak, { templateContent: "apiVersion: v1\nkind: {% if %}\n" });
    expect(errorCode(res)).toBe("BAD_USER_INPUT");
    expect(res.errors?.[0]?.extensions?.field).toBe("templateContent");
    expect(res.errors?.[0]?.message).toMatch(/line 2, column \d+/);
  });

  it("refuses includes, imports and extends, so templates cannot read files", async () => {
    for (const body of ['{% include "/etc/passwd" %}', '{% import "/etc/passwd" as p %}', '{% extends "/etc/passwd" %}']) {
      const res = await create(gen.pak, { templateContent: body });
      expect(errorCode(res), body).toBe("BAD_USER_INPUT");
      expect(res.errors?.[0]?.message).toMatch(/may not use/);
    }
  });

  it("refuses a body over 128 KiB and a schema over 64 KiB", async () => {
    const body = await create(gen.pak, { templateContent: "x".repeat(128 * 1024 + 1) });
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "templateContent" });
    const schema = JSON.stringify({ type: "object", description: "x".repeat(64 * 1024) });
    const big = await create(gen.pak, { templateContent: "a: 1", parametersSchema: schema });
    expect(big.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "parametersSchema" });
  });

  it("refuses an unknown filter at creation", async () => {
    const res = await create(gen.pak, { templateContent: "{{ name | shell }}" });
    expect(res.errors?.[0]?.message).toMatch(/unknown filter 'shell' at line 1/);
  });

  it("refuses a parameters schema that is not JSON or not a valid JSON Schema", async () => {
    for (const schema of ["{", '{"type": "strin"}', '{"$ref": "https://example.com/schema.json"}', "[1]"]) {
      const res = await create(gen.pak, { templateContent: "a: 1", parametersSchema: schema });
      expect(errorCode(res), schema).toBe("BAD_USER_INPUT");
      expect(res.errors?.[0]?.extensions?.field).toBe("parametersSchema");
    }
  });

  it("refuses a second live template of the same name and owner with CONFLICT", async () => {
    const t = await createTemplate(broker, gen.pak);
    expect(errorCode(await create(gen.pak, { name: t.name, templateContent: "a: 1" }))).toBe("CONFLICT");
    // Another owner may use the name.
    expect((await createTemplate(broker, other.pak, { name: t.name })).version).toBe(1);
  });

  it("refuses a malformed id naming the field", async () => {
    expect((await get(gen.pak, "not-a-uuid")).errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "id" });
  });

  it("refuses agents", async () => {
    const agent = await createAgent(broker);
    expect(errorCode(await create(agent.pak, { templateContent: "a: 1" }))).toBe("FORBIDDEN");
    expect(errorCode(await list(agent.pak))).toBe("FORBIDDEN");
  });
});

describe("versions", () => {
  it("makes a new row with the next version on update, keeping the old one and the labels", async () => {
    const v1 = await createTemplate(broker, gen.pak, { labels: ["prod"] });
    const v2 = ok(await update(gen.pak, v1.id, "kind: {{ name }}\n")).updateStackTemplate.stackTemplate;
    expect(v2.id).not.toBe(v1.id);
    expect(v2.version).toBe(2);
    expect(v2.labels).toEqual(["prod"]);
    const v3 = ok(await update(gen.pak, v1.id, "kind: three\n")).updateStackTemplate.stackTemplate;
    expect(v3.version).toBe(3);
    expect(ok(await get(gen.pak, v1.id)).stackTemplate?.version).toBe(1);
    const versions = ok(await list(gen.pak, { name: v1.name })).stackTemplates.edges.map((e) => e.node.version);
    expect(versions).toEqual([1, 2, 3]);
  });

  it("never reuses a version number after a delete", async () => {
    const v1 = await createTemplate(broker, gen.pak);
    ok(await broker.gql(`mutation($id: ID!) { deleteStackTemplate(input: { id: $id }) { deletedId } }`, { id: v1.id }, gen.pak));
    expect(errorCode(await get(gen.pak, v1.id))).toBe("NOT_FOUND");
    expect((await createTemplate(broker, gen.pak, { name: v1.name })).version).toBe(2);
  });

  it("refuses an invalid body on update like on create", async () => {
    const v1 = await createTemplate(broker, gen.pak);
    const res = await update(gen.pak, v1.id, "{% for %}");
    expect(errorCode(res)).toBe("BAD_USER_INPUT");
    expect(res.errors?.[0]?.extensions?.field).toBe("templateContent");
  });
});

describe("who sees which templates", () => {
  it("shows a generator its own and the system templates, never another's (NOT_FOUND)", async () => {
    const mine = await createTemplate(broker, gen.pak);
    const theirs = await createTemplate(broker, other.pak);
    const system = await createTemplate(broker, broker.adminPak);
    const ids = ok(await list(gen.pak, {}, 500)).stackTemplates.edges.map((e) => e.node.id);
    expect(ids).toEqual(expect.arrayContaining([mine.id, system.id]));
    expect(ids).not.toContain(theirs.id);
    expect(errorCode(await get(gen.pak, theirs.id))).toBe("NOT_FOUND");
    expect(errorCode(await update(gen.pak, theirs.id, "a: 1"))).toBe("NOT_FOUND");
    expect(ok(await get(gen.pak, system.id)).stackTemplate?.id).toBe(system.id);
    expect(ok(await list(broker.adminPak, {}, 500)).stackTemplates.edges.map((e) => e.node.id)).toEqual(
      expect.arrayContaining([mine.id, theirs.id, system.id]),
    );
  });

  it("lets a generator read but not change a system template", async () => {
    const system = await createTemplate(broker, broker.adminPak);
    expect(errorCode(await update(gen.pak, system.id, "a: 1"))).toBe("FORBIDDEN");
    const res = await broker.gql(
      `mutation($id: ID!) { addStackTemplateLabel(input: { templateId: $id, label: "x" }) { stackTemplate { id } } }`,
      { id: system.id },
      gen.pak,
    );
    expect(errorCode(res)).toBe("FORBIDDEN");
  });

  it("filters by system and pages with a cursor", async () => {
    await createTemplate(broker, gen.pak);
    await createTemplate(broker, gen.pak);
    const own = ok(await list(gen.pak, { system: false }, 500)).stackTemplates.edges;
    expect(own.length).toBeGreaterThanOrEqual(2);
    const first = ok(await list(gen.pak, { system: false }, 1)).stackTemplates;
    const second = ok(await list(gen.pak, { system: false }, 1, first.pageInfo.endCursor)).stackTemplates;
    expect(second.edges[0]?.node.id).toBe(own[1]?.node.id);
    expect(errorCode(await list(gen.pak, {}, 1, "bogus"))).toBe("BAD_USER_INPUT");
    expect(errorCode(await list(gen.pak, { generatorId: other.id }))).toBe("BAD_USER_INPUT");
  });
});

describe("listing cost", () => {
  it("reads a page of templates with labels and annotations in a constant number of statements", async () => {
    const owner = await createGenerator(broker);
    const page = (n: number) =>
      countBrokerStatements(() =>
        broker.gql(
          `query($n: Int) { stackTemplates(first: $n) { edges { node { id labels annotations { key } } } } }`,
          { n },
          owner.pak,
        ),
      );
    for (let i = 0; i < 6; i++)
      await createTemplate(broker, owner.pak, { labels: ["a", "b"], annotations: [{ key: "k", value: "v" }] });
    const two = await page(2);
    const six = await page(6);
    expect(six.statements).toBe(two.statements);
  });
});

describe("template labels and annotations", () => {
  it("adds and removes labels and annotations, validating them", async () => {
    const t = await createTemplate(broker, gen.pak);
    const tags = `stackTemplate { labels annotations { key value } }`;
    ok(
      await broker.gql(
        `mutation($id: ID!) { addStackTemplateLabel(input: { templateId: $id, label: "prod" }) { ${tags} } }`,
        { id: t.id },
        gen.pak,
      ),
    );
    const set = ok(
      await broker.gql<{ setStackTemplateAnnotation: { stackTemplate: { labels: string[]; annotations: unknown[] } } }>(
        `mutation($id: ID!) { setStackTemplateAnnotation(input: { templateId: $id, key: "team", value: "web" }) { ${tags} } }`,
        { id: t.id },
        gen.pak,
      ),
    ).setStackTemplateAnnotation.stackTemplate;
    expect(set).toEqual({ labels: ["prod"], annotations: [{ key: "team", value: "web" }] });
    const bad = await broker.gql(
      `mutation($id: ID!) { addStackTemplateLabel(input: { templateId: $id, label: "has space" }) { ${tags} } }`,
      { id: t.id },
      gen.pak,
    );
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "label" });
    const removed = ok(
      await broker.gql<{ removeStackTemplateLabel: { stackTemplate: { labels: string[] } } }>(
        `mutation($id: ID!) { removeStackTemplateLabel(input: { templateId: $id, label: "prod" }) { ${tags} } }`,
        { id: t.id },
        gen.pak,
      ),
    );
    expect(removed.removeStackTemplateLabel.stackTemplate.labels).toEqual([]);
    ok(
      await broker.gql(
        `mutation($id: ID!) { removeStackTemplateAnnotation(input: { templateId: $id, key: "team" }) { ${tags} } }`,
        { id: t.id },
        gen.pak,
      ),
    );
  });
});

describe("the generator soft-delete trigger", () => {
  it("soft-deletes the generator's templates with it", async () => {
    const doomed = await createGenerator(broker);
    const t = await createTemplate(broker, doomed.pak);
    ok(await broker.gql(`mutation($id: ID!) { deleteGenerator(input: { id: $id }) { deletedId } }`, { id: doomed.id }));
    const { rows } = await broker.db.sql.query("SELECT deleted_at FROM stack_templates WHERE id = $1", [t.id]);
    expect(rows[0]?.deleted_at).not.toBeNull();
    expect(errorCode(await get(broker.adminPak, t.id))).toBe("NOT_FOUND");
  });
});
