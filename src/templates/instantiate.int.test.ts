import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, createStack, targetStack, unique } from "../../test/factories.js";
import { createTemplate, instantiate, INSTANTIATE } from "../../test/templates.js";

// A small YAML cap, and a render budget that a runaway reaches but a normal render on a loaded machine does not.
let broker: TestBroker;
let gen: { id: string; pak: string };
let stackId: string;

beforeAll(async () => {
  broker = await startTestBroker({ BROKKR__BROKER__MAX_YAML_BYTES: "4096", BROKKR__TEMPLATES__RENDER_TIMEOUT_MS: "4000" });
  gen = await createGenerator(broker);
  stackId = (await createStack(broker, gen.pak)).id;
});

const OPEN_SCHEMA = JSON.stringify({ type: "object" });
const failure = (res: { errors?: { message: string; extensions?: { code?: string; field?: string } }[] }) => ({
  code: res.errors?.[0]?.extensions?.code,
  field: res.errors?.[0]?.extensions?.field,
  message: res.errors?.[0]?.message ?? "",
});

describe("instantiating a template into a stack", () => {
  it("renders the parameters into a deployment object whose provenance is readable", async () => {
    const t = await createTemplate(broker, gen.pak);
    const object = ok(await instantiate(broker, gen.pak, stackId, t.id, { name: "web", replicas: 3 })).instantiateStackTemplate
      .deploymentObject;
    expect(object.yamlContent).toBe('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  replicas: "3"\n');
    const read = ok(
      await broker.gql<{ deploymentObject: { provenance: unknown } }>(
        `query($id: ID!) { deploymentObject(id: $id) { provenance { templateName templateVersion parameters template { id name version } } } }`,
        { id: object.id },
        gen.pak,
      ),
    );
    expect(read.deploymentObject.provenance).toEqual({
      templateName: t.name,
      templateVersion: 1,
      parameters: { name: "web", replicas: 3 },
      template: { id: t.id, name: t.name, version: 1 },
    });
  });

  it("delivers the rendered object like any other: it is the stack's latest in an agent's target state", async () => {
    const agent = await createAgent(broker, { activate: true });
    const stack = await createStack(broker, gen.pak);
    await targetStack(broker, agent.id, stack.id);
    const t = await createTemplate(broker, gen.pak);
    const object = ok(await instantiate(broker, gen.pak, stack.id, t.id, { name: "api" })).instantiateStackTemplate
      .deploymentObject;
    const state = ok(
      await broker.gql<{ targetState: { stackId: string; deploymentObject: { id: string; provenance: unknown } }[] }>(
        `query($a: ID!) { targetState(agentId: $a) { stackId deploymentObject { id provenance { templateName } } } }`,
        { a: agent.id },
        agent.pak,
      ),
    );
    // Agents get the object, not the template behind it.
    expect(state.targetState).toEqual([{ stackId: stack.id, deploymentObject: { id: object.id, provenance: null } }]);
  });

  it("keeps provenance readable after the template row is hard-deleted (name and version remain)", async () => {
    const t = await createTemplate(broker, gen.pak);
    const object = ok(await instantiate(broker, gen.pak, stackId, t.id, { name: "kept" })).instantiateStackTemplate
      .deploymentObject;
    await broker.db.sql.query("DELETE FROM stack_templates WHERE id = $1", [t.id]);
    const read = ok(
      await broker.gql<{ deploymentObject: { provenance: unknown } }>(
        `query($id: ID!) { deploymentObject(id: $id) { provenance { templateId templateName templateVersion parameters template { id } } } }`,
        { id: object.id },
        gen.pak,
      ),
    );
    expect(read.deploymentObject.provenance).toEqual({
      templateId: null,
      templateName: t.name,
      templateVersion: 1,
      parameters: { name: "kept" },
      template: null,
    });
  });

  it("keeps old versions usable by id after an update", async () => {
    const v1 = await createTemplate(broker, gen.pak);
    ok(
      await broker.gql(
        `mutation($input: UpdateStackTemplateInput!) { updateStackTemplate(input: $input) { stackTemplate { version } } }`,
        { input: { id: v1.id, templateContent: "apiVersion: v1\nkind: Secret\n", parametersSchema: OPEN_SCHEMA } },
        gen.pak,
      ),
    );
    const object = ok(await instantiate(broker, gen.pak, stackId, v1.id, { name: "old" })).instantiateStackTemplate
      .deploymentObject;
    expect(object.yamlContent).toContain("kind: ConfigMap");
    expect(object.provenance).toMatchObject({ templateVersion: 1, template: { id: v1.id, version: 1 } });
  });

  it("replays the first object for a retried clientMutationId", async () => {
    const t = await createTemplate(broker, gen.pak);
    const input = { stackId, templateId: t.id, parameters: { name: "once" }, clientMutationId: unique("key") };
    const first = ok(
      await broker.gql<{ instantiateStackTemplate: { deploymentObject: { id: string } } }>(INSTANTIATE, { input }, gen.pak),
    );
    const again = ok(
      await broker.gql<{ instantiateStackTemplate: { deploymentObject: { id: string } } }>(INSTANTIATE, { input }, gen.pak),
    );
    expect(again.instantiateStackTemplate.deploymentObject.id).toBe(first.instantiateStackTemplate.deploymentObject.id);
  });
});

describe("labels and annotations the stack must carry", () => {
  it("refuses a stack lacking the template's labels and annotations, naming each one", async () => {
    const t = await createTemplate(broker, gen.pak, {
      labels: ["prod", "eu"],
      annotations: [{ key: "team", value: "web" }],
    });
    const partial = await createStack(broker, gen.pak, { labels: ["prod"], annotations: [{ key: "team", value: "api" }] });
    const res = failure(await instantiate(broker, gen.pak, partial.id, t.id, { name: "x" }));
    expect(res.code).toBe("UNPROCESSABLE_ENTITY");
    expect(res.message).toContain("label 'eu'");
    expect(res.message).toContain("annotation 'team=web'");
    expect(res.message).not.toContain("'prod'");
    const full = await createStack(broker, gen.pak, {
      labels: ["prod", "eu", "extra"],
      annotations: [{ key: "team", value: "web" }],
    });
    expect(
      ok(await instantiate(broker, gen.pak, full.id, t.id, { name: "x" })).instantiateStackTemplate.deploymentObject.id,
    ).toBeTruthy();
  });
});

describe("parameters", () => {
  it("names the parameter and the rule it breaks", async () => {
    const t = await createTemplate(broker, gen.pak);
    const cases: [unknown, string, RegExp][] = [
      [{}, "parameters.name", /parameters\.name .*required/],
      [{ name: "web", replicas: "three" }, "parameters.replicas", /parameters\.replicas must be integer \(type\)/],
      [{ name: "Web!" }, "parameters.name", /\(pattern\)/],
      [{ name: "web", extra: 1 }, "parameters", /additionalProperties/],
    ];
    for (const [parameters, field, message] of cases) {
      const res = failure(await instantiate(broker, gen.pak, stackId, t.id, parameters));
      expect(res, JSON.stringify(parameters)).toMatchObject({ code: "BAD_USER_INPUT", field });
      expect(res.message).toMatch(message);
    }
  });

  it("refuses parameters larger than the cap", async () => {
    const t = await createTemplate(broker, gen.pak, { parametersSchema: OPEN_SCHEMA });
    const res = failure(await instantiate(broker, gen.pak, stackId, t.id, { name: "x".repeat(70_000) }));
    expect(res).toMatchObject({ code: "PAYLOAD_TOO_LARGE", field: "parameters" });
  });
});

describe("the rendered manifest", () => {
  it("refuses output that is not valid YAML, naming the line", async () => {
    const t = await createTemplate(broker, gen.pak, {
      templateContent: "apiVersion: v1\nkind: {{ name }}\n  bad: [\n",
      parametersSchema: OPEN_SCHEMA,
    });
    const res = failure(await instantiate(broker, gen.pak, stackId, t.id, { name: "ConfigMap" }));
    expect(res).toMatchObject({ code: "BAD_USER_INPUT", field: "templateContent" });
    expect(res.message).toMatch(/rendered manifest is not valid: .*line \d+/);
  });

  it("refuses a document without apiVersion or kind", async () => {
    const body = "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nmetadata:\n  name: {{ name }}\n";
    const t = await createTemplate(broker, gen.pak, { templateContent: body, parametersSchema: OPEN_SCHEMA });
    const res = failure(await instantiate(broker, gen.pak, stackId, t.id, { name: "x" }));
    expect(res.message).toMatch(/document 2 \(from line 3\) has no 'kind'/);
  });

  it("refuses output over the YAML size limit", async () => {
    const body = "apiVersion: v1\nkind: ConfigMap\ndata:\n{% for i in range(0, 1000) %}  k{{ i }}: value\n{% endfor %}";
    const t = await createTemplate(broker, gen.pak, { templateContent: body, parametersSchema: OPEN_SCHEMA });
    expect(failure(await instantiate(broker, gen.pak, stackId, t.id, {})).message).toMatch(/over 4096 characters/);
  });
});

describe("templates run bounded and sandboxed", () => {
  it("stops a runaway template at the render timeout", async () => {
    const loop =
      "{% for i in range(0, 10000) %}{% for j in range(0, 10000) %}{% for k in range(0, 10000) %}{% endfor %}{% endfor %}{% endfor %}";
    const t = await createTemplate(broker, gen.pak, { templateContent: `kind: x\n${loop}`, parametersSchema: OPEN_SCHEMA });
    const res = failure(await instantiate(broker, gen.pak, stackId, t.id, {}));
    expect(res.message).toMatch(/did not finish rendering within 4000 ms/);
    // The broker is still answering.
    expect(ok(await broker.gql(`{ me { role } }`))).toEqual({ me: { role: "ADMIN" } });
  });

  it("refuses includes at render time too, for rows that skipped the checks (written by SQL)", async () => {
    const { rows } = await broker.db.sql.query<{ id: string }>(
      `INSERT INTO stack_templates (generator_id, name, version, template_content, parameters_schema, checksum)
       VALUES ($1, $2, 1, '{% include "/etc/passwd" %}', '{}', '') RETURNING id`,
      [gen.id, unique("raw")],
    );
    const res = failure(await instantiate(broker, gen.pak, stackId, rows[0]?.id ?? "", {}));
    expect(res.message).toMatch(/may not include, import or extend other templates \('\/etc\/passwd'\)/);
    expect(res.message).not.toMatch(/root:/);
  });

  it("refuses a huge range()", async () => {
    const t = await createTemplate(broker, gen.pak, {
      templateContent: "{% for i in range(0, 100000000) %}{% endfor %}",
      parametersSchema: OPEN_SCHEMA,
    });
    expect(failure(await instantiate(broker, gen.pak, stackId, t.id, {})).message).toMatch(/range\(\) is limited to 10000 items/);
  });

  it("gives templates no way to JavaScript: constructor lookups find nothing", async () => {
    const escapes = [
      `{{ range.constructor("return process.env")() }}`,
      `{{ constructor.getOwnPropertyNames(range) }}`,
      `{{ cycler.constructor.constructor("return 1")() }}`,
      `{{ name["constructor"]["constructor"]("return 1")() }}`,
      `{{ range.prototype.constructor.constructor("return 1")() }}`,
    ];
    for (const body of escapes) {
      const t = await createTemplate(broker, gen.pak, {
        templateContent: `kind: x\nv: ${body}\n`,
        parametersSchema: OPEN_SCHEMA,
      });
      const res = failure(await instantiate(broker, gen.pak, stackId, t.id, { name: "n" }));
      expect(res.code, body).toBe("BAD_USER_INPUT");
      expect(res.message, body).toMatch(/failed to render/);
    }
    // Filters are looked up among nunjucks' own only: refused when the template is stored.
    const filter = await broker.gql(
      `mutation($input: CreateStackTemplateInput!) { createStackTemplate(input: $input) { stackTemplate { id } } }`,
      { input: { name: unique("tpl"), templateContent: "{{ name | constructor }}", parametersSchema: OPEN_SCHEMA } },
      gen.pak,
    );
    expect(failure(filter).message).toMatch(/unknown filter 'constructor'/);
  });
});

describe("who may instantiate what", () => {
  it("lets a generator use a system template and its own, and never another generator's", async () => {
    const other = await createGenerator(broker);
    const theirs = await createTemplate(broker, other.pak);
    const system = await createTemplate(broker, broker.adminPak);
    expect(failure(await instantiate(broker, gen.pak, stackId, theirs.id, { name: "x" })).code).toBe("NOT_FOUND");
    expect(
      ok(await instantiate(broker, gen.pak, stackId, system.id, { name: "x" })).instantiateStackTemplate.deploymentObject.id,
    ).toBeTruthy();
    // Into another generator's stack: refused before anything renders.
    const mine = await createTemplate(broker, gen.pak);
    expect(failure(await instantiate(broker, other.pak, stackId, mine.id, { name: "x" })).code).toBe("FORBIDDEN");
    const agent = await createAgent(broker);
    expect(errorCode(await instantiate(broker, agent.pak, stackId, mine.id, { name: "x" }))).toBe("FORBIDDEN");
  });

  it("refuses a deleted template", async () => {
    const t = await createTemplate(broker, gen.pak);
    ok(await broker.gql(`mutation($id: ID!) { deleteStackTemplate(input: { id: $id }) { deletedId } }`, { id: t.id }, gen.pak));
    expect(failure(await instantiate(broker, gen.pak, stackId, t.id, { name: "x" })).code).toBe("NOT_FOUND");
  });
});
