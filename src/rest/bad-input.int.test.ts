import { beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, createStack, unique } from "../../test/factories.js";

/*
 * Bad input on /api/v1: unknown routes 404 and wrong methods 405 in Brokkr's error shape;
 * malformed ids, bodies and query values 400 naming the field; nothing half-written.
 */
let broker: TestBroker;
let gen: { id: string; pak: string };
beforeAll(async () => {
  broker = await startTestBroker();
  gen = await createGenerator(broker);
});

async function call(method: string, path: string, pak: string | null, body?: string, type = "application/json") {
  const res = await fetch(`${broker.url}/api/v1${path}`, {
    method,
    headers: { ...(pak ? { authorization: pak } : {}), ...(body !== undefined ? { "content-type": type } : {}) },
    body,
  });
  const text = await res.text();
  return { status: res.status, allow: res.headers.get("allow"), body: text ? JSON.parse(text) : null };
}
const count = async (table: string, where = "true", args: unknown[] = []) =>
  Number((await broker.db.sql.query(`SELECT count(*) AS n FROM ${table} WHERE ${where}`, args)).rows[0].n);

describe("REST bad input", () => {
  it("answers unknown routes 404 and wrong methods 405 with Allow", async () => {
    expect(await call("GET", "/nowhere", broker.adminPak)).toMatchObject({
      status: 404,
      body: { code: "not_found", message: "no such endpoint" },
    });
    const wrong = await call("PATCH", `/stacks/${crypto.randomUUID()}`, broker.adminPak, "{}");
    expect(wrong).toMatchObject({ status: 405, body: { code: "method_not_allowed" } });
    expect(wrong.allow?.split(", ").sort()).toEqual(["DELETE", "GET", "PUT"]);
  });

  it("refuses malformed path ids, bodies and query values with 400 naming the field", async () => {
    expect(await call("GET", "/stacks/not-a-uuid", gen.pak)).toMatchObject({
      status: 400,
      body: { code: "BAD_USER_INPUT", details: { field: "id" } },
    });
    expect(await call("POST", "/stacks", gen.pak, "{not json")).toMatchObject({
      status: 400,
      body: { details: { field: "body" } },
    });
    expect(await call("POST", "/stacks", gen.pak, JSON.stringify({ description: "x" }))).toMatchObject({
      status: 400,
      body: { details: { field: "name" } },
    });
    expect(await call("POST", "/stacks", gen.pak, JSON.stringify({ name: "" }))).toMatchObject({
      status: 400,
      body: { details: { field: "name" } },
    });
    const agent = await createAgent(broker, { activate: true });
    expect(await call("GET", `/agents/${agent.id}/target-state?mode=sometimes`, agent.pak)).toMatchObject({
      status: 400,
      body: { details: { field: "mode" } },
    });
    const stack = await createStack(broker, gen.pak);
    const marker = await call(
      "POST",
      `/stacks/${stack.id}/deployment-objects?deletion_marker=maybe`,
      gen.pak,
      "",
      "application/yaml",
    );
    expect(marker).toMatchObject({ status: 400, body: { details: { field: "deletion_marker" } } });
    const yaml = await call("POST", `/stacks/${stack.id}/deployment-objects`, gen.pak, "kind: [unclosed", "application/yaml");
    expect(yaml).toMatchObject({ status: 400, body: { code: "invalid_deployment_object", details: { field: "yaml_content" } } });
    expect(await count("deployment_objects", "stack_id = $1", [stack.id])).toBe(0);
  });

  it("answers duplicates 409 unique_violation and a missing agent 404 agent_not_found", async () => {
    const stack = await createStack(broker, gen.pak);
    expect((await call("POST", `/stacks/${stack.id}/labels`, gen.pak, '"prod"')).status).toBe(201);
    expect(await call("POST", `/stacks/${stack.id}/labels`, gen.pak, '"prod"')).toMatchObject({
      status: 409,
      body: { code: "unique_violation" },
    });
    expect(await count("stack_labels", "stack_id = $1", [stack.id])).toBe(1);
    const lookup = await call("GET", `/agents/?name=${unique("nobody")}&cluster_name=c`, broker.adminPak);
    expect(lookup).toMatchObject({ status: 404, body: { code: "agent_not_found" } });
    expect(await call("GET", `/agents/${crypto.randomUUID()}`, broker.adminPak)).toMatchObject({
      status: 404,
      body: { code: "agent_not_found" },
    });
  });

  it("writes nothing of an agent whose registrations cannot all be made", async () => {
    const name = unique("half");
    const body = JSON.stringify({ name, cluster_name: "c", generator_ids: [gen.id, crypto.randomUUID()] });
    expect(await call("POST", "/agents", broker.adminPak, body)).toMatchObject({
      status: 404,
      body: { code: "generator_not_found" },
    });
    expect(await count("agents", "name = $1", [name])).toBe(0);
  });

  it("refuses a body agent_id that is not the path's agent (agent_id_mismatch) and the admin's registration without one", async () => {
    const agent = await createAgent(broker, { activate: true });
    const other = await createAgent(broker);
    const note = JSON.stringify({ agent_id: other.id, key: "k", value: "v" });
    expect(await call("POST", `/agents/${agent.id}/annotations`, broker.adminPak, note)).toMatchObject({
      status: 400,
      body: { code: "agent_id_mismatch" },
    });
    expect(await count("agent_annotations", "agent_id = ANY($1::uuid[])", [[agent.id, other.id]])).toBe(0);
    expect(await call("POST", `/generators/${gen.id}/register`, broker.adminPak, "{}")).toMatchObject({
      status: 400,
      body: { code: "missing_agent_id" },
    });
  });
});
