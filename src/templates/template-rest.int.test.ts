import { beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, createStack, unique } from "../../test/factories.js";
import { CONFIGMAP_TEMPLATE, createTemplate, NAME_SCHEMA } from "../../test/templates.js";

/* The REST refusals with Brokkr's codes, including those outside the spec's list (409 on a duplicate label). */
let broker: TestBroker;
let gen: { id: string; pak: string };
let other: { id: string; pak: string };

beforeAll(async () => {
  broker = await startTestBroker({ BROKKR__TEMPLATES__RENDER_TIMEOUT_MS: "1000" });
  gen = await createGenerator(broker);
  other = await createGenerator(broker);
});

async function call(method: string, path: string, pak: string, body?: unknown) {
  const res = await fetch(`${broker.url}/api/v1${path}`, {
    method,
    headers: { authorization: pak, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const newTemplate = (overrides: Record<string, unknown> = {}) => ({
  name: unique("tpl"),
  template_content: CONFIGMAP_TEMPLATE,
  parameters_schema: NAME_SCHEMA,
  ...overrides,
});

describe("template routes refuse bad input with Brokkr's codes", () => {
  it("refuses bad syntax, an include and a bad schema with 400 naming the field", async () => {
    expect(await call("POST", "/templates", gen.pak, newTemplate({ template_content: "a\n{{ x( }}" }))).toMatchObject({
      status: 400,
      body: { code: "invalid_template_syntax", field: "template_content" },
    });
    const include = await call("POST", "/templates", gen.pak, newTemplate({ template_content: '{% include "/etc/passwd" %}' }));
    expect(include).toMatchObject({ status: 400, body: { code: "invalid_template_syntax" } });
    expect(await call("POST", "/templates", gen.pak, newTemplate({ parameters_schema: '{"type": 5}' }))).toMatchObject({
      status: 400,
      body: { code: "invalid_parameters_schema", field: "parameters_schema" },
    });
    expect(await call("POST", "/templates", gen.pak, { name: "x" })).toMatchObject({ status: 400 });
  });

  it("answers another generator's template 404 and an agent 403", async () => {
    const theirs = await createTemplate(broker, other.pak);
    for (const [method, path] of [
      ["GET", `/templates/${theirs.id}`],
      ["DELETE", `/templates/${theirs.id}`],
      ["GET", `/templates/${theirs.id}/labels`],
      ["POST", `/templates/${theirs.id}/labels`],
    ] as const)
      expect((await call(method, path, gen.pak, method === "POST" ? "x" : undefined)).status, `${method} ${path}`).toBe(404);
    const agent = await createAgent(broker);
    expect(await call("GET", `/templates/${theirs.id}`, agent.pak)).toMatchObject({
      status: 403,
      body: { code: "templates_not_accessible" },
    });
  });

  it("answers a duplicate label 409 and a duplicate annotation key 409", async () => {
    const t = await createTemplate(broker, gen.pak);
    expect((await call("POST", `/templates/${t.id}/labels`, gen.pak, "prod")).status).toBe(201);
    expect(await call("POST", `/templates/${t.id}/labels`, gen.pak, "prod")).toMatchObject({ status: 409 });
    expect((await call("POST", `/templates/${t.id}/annotations`, gen.pak, { key: "k", value: "v" })).status).toBe(201);
    expect((await call("POST", `/templates/${t.id}/annotations`, gen.pak, { key: "k", value: "w" })).status).toBe(409);
  });

  it("refuses instantiation of a runaway template with 400 template_render_failed", async () => {
    const loop = "{% for i in range(0, 10000) %}{% for j in range(0, 10000) %}{% endfor %}{% endfor %}";
    const t = await createTemplate(broker, gen.pak, { templateContent: loop, parametersSchema: "{}" });
    const stack = await createStack(broker, gen.pak);
    const res = await call("POST", `/stacks/${stack.id}/deployment-objects/from-template`, gen.pak, {
      template_id: t.id,
      parameters: {},
    });
    expect(res).toMatchObject({ status: 400, body: { code: "template_render_failed" } });
    expect(res.body.message).toMatch(/within 1000 ms/);
  });

  it("refuses a missing template_id and a template the caller cannot see", async () => {
    const stack = await createStack(broker, gen.pak);
    const path = `/stacks/${stack.id}/deployment-objects/from-template`;
    expect(await call("POST", path, gen.pak, { parameters: {} })).toMatchObject({ status: 400 });
    const theirs = await createTemplate(broker, other.pak);
    expect(await call("POST", path, gen.pak, { template_id: theirs.id, parameters: { name: "x" } })).toMatchObject({
      status: 404,
      body: { code: "template_not_found" },
    });
  });
});
