import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, startTestBroker, type TestBroker } from "../../test/broker.js";
import { countBrokerStatements } from "../../test/count-statements.js";
import { createAgent, createGenerator, createObject, createStack, targetStack } from "../../test/factories.js";
import { expectNoLeaks } from "../../test/leaks.js";

let broker: TestBroker;
const UNKNOWN = "00000000-0000-4000-8000-000000000000";

beforeAll(async () => {
  broker = await startTestBroker();
});

async function rest(method: string, path: string, pak: string | null, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${broker.url}/api/v1${path}`, {
    method,
    headers: {
      ...(pak ? { authorization: `Bearer ${pak}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    body: (body === undefined
      ? undefined
      : typeof body === "string" || body instanceof Uint8Array
        ? body
        : JSON.stringify(body)) as BodyInit | undefined,
  });
  const text = await res.text();
  expectNoLeaks(text);
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function targetedAgent(activate = true) {
  const gen = await createGenerator(broker);
  const agent = await createAgent(broker, { activate });
  const stack = await createStack(broker, gen.pak);
  await targetStack(broker, agent.id, stack.id);
  const obj = await createObject(broker, gen.pak, stack.id);
  return { gen, agent, stack, obj };
}

const event = (agentId: string, objectId: string) => ({ agent_id: agentId, deployment_object_id: objectId, status: "SUCCESS" });
const health = (objectId: string) => ({
  deployment_objects: [{ id: objectId, status: "healthy", checked_at: new Date().toISOString() }],
});

describe("writes by an inactive agent", () => {
  it("are refused with 403 on REST events, heartbeats and health, and nothing is written", async () => {
    const { agent, obj } = await targetedAgent(false);
    expect((await rest("POST", `/agents/${agent.id}/events`, agent.pak, event(agent.id, obj.id))).status).toBe(403);
    expect((await rest("POST", `/agents/${agent.id}/heartbeat`, agent.pak, { k8s_reachable: true })).status).toBe(403);
    expect((await rest("PATCH", `/agents/${agent.id}/health-status`, agent.pak, health(obj.id))).status).toBe(403);
    const { rows } = await broker.db.sql.query(
      `SELECT (SELECT last_heartbeat FROM agents WHERE id = $1) AS hb, (SELECT count(*)::int FROM agent_events WHERE agent_id = $1) AS events,
              (SELECT count(*)::int FROM deployment_health WHERE agent_id = $1) AS health`,
      [agent.id],
    );
    expect(rows[0]).toEqual({ hb: null, events: 0, health: 0 });
  });

  it("are refused before the body is read: a malformed body still answers 403", async () => {
    const { agent } = await targetedAgent(false);
    const res = await rest("PATCH", `/agents/${agent.id}/health-status`, agent.pak, "{ not json");
    expect(res).toMatchObject({ status: 403, body: { code: "FORBIDDEN" } });
  });

  it("are refused with FORBIDDEN over GraphQL: events, heartbeats, renames and key rotation", async () => {
    const { agent, obj } = await targetedAgent(false);
    const calls = [
      [
        `mutation($o: ID!) { reportAgentEvent(input: { deploymentObjectId: $o, status: SUCCESS }) { event { id } } }`,
        { o: obj.id },
      ],
      [`mutation { heartbeat(input: { k8sReachable: true }) { agent { id } } }`, {}],
      [`mutation($id: ID!) { updateAgent(input: { id: $id, name: "x" }) { agent { id } } }`, { id: agent.id }],
      [`mutation($id: ID!) { rotateAgentPak(input: { id: $id }) { pak } }`, { id: agent.id }],
    ] as const;
    for (const [doc, vars] of calls) expect(errorCode(await broker.gql(doc, vars, agent.pak)), doc).toBe("FORBIDDEN");
  });

  it("are accepted again once the admin activates the agent", async () => {
    const { agent, obj } = await targetedAgent(true);
    expect((await rest("POST", `/agents/${agent.id}/heartbeat`, agent.pak, {})).status).toBe(204);
    expect((await rest("PATCH", `/agents/${agent.id}/health-status`, agent.pak, health(obj.id))).status).toBe(200);
  });
});

describe("REST input that is the client's fault", () => {
  it("refuses NUL bytes and lone surrogates in body and query fields with 400 naming the field", async () => {
    const { agent, obj } = await targetedAgent();
    const nul = await rest("POST", `/agents/${agent.id}/events`, agent.pak, { ...event(agent.id, obj.id), message: "a\u0000b" });
    expect(nul).toMatchObject({ status: 400, body: { code: "BAD_USER_INPUT", field: "message" } });
    const surrogate = `{"deployment_objects":[{"id":"${obj.id}","status":"ok\\ud800","checked_at":"${new Date().toISOString()}"}]}`;
    const lone = await rest("PATCH", `/agents/${agent.id}/health-status`, agent.pak, surrogate);
    expect(lone).toMatchObject({ status: 400, body: { code: "BAD_USER_INPUT", field: "deployment_objects.0.status" } });
    const query = await rest("GET", `/agents/${agent.id}/target-state?mode=full%00`, agent.pak);
    expect(query).toMatchObject({ status: 400, body: { code: "BAD_USER_INPUT", field: "mode" } });
  });

  it("refuses a bogus Content-Encoding with 415 and a corrupt gzip body with 400, as coded JSON", async () => {
    const { agent } = await targetedAgent();
    const bogus = await rest("POST", `/agents/${agent.id}/heartbeat`, agent.pak, "{}", { "content-encoding": "bogus" });
    expect(bogus).toMatchObject({ status: 415, body: { code: "BAD_USER_INPUT" } });
    const corrupt = await rest("POST", `/agents/${agent.id}/heartbeat`, agent.pak, "not gzip", { "content-encoding": "gzip" });
    expect(corrupt).toMatchObject({ status: 400, body: { code: "BAD_USER_INPUT" } });
    const good = await rest("POST", `/agents/${agent.id}/heartbeat`, agent.pak, new Uint8Array(gzipSync("{}")), {
      "content-encoding": "gzip",
    });
    expect(good.status).toBe(204);
  });

  it("refuses a bogus Content-Encoding on /graphql with 415 and a JSON body", async () => {
    const res = await fetch(`${broker.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "bogus", authorization: `Bearer ${broker.adminPak}` },
      body: JSON.stringify({ query: "{ me { role } }" }),
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ code: "BAD_USER_INPUT" });
  });

  it("refuses long-poll cursors above the 64-bit range with 400", async () => {
    const { agent } = await targetedAgent();
    for (const after of ["9223372036854775808", "99999999999999999999", "-1"]) {
      expect(await rest("GET", `/agents/${agent.id}/deployment-objects?after=${after}&wait=0`, agent.pak)).toMatchObject({
        status: 400,
        body: { field: "after" },
      });
    }
    expect((await rest("GET", `/agents/${agent.id}/deployment-objects?after=9223372036854775807&wait=0`, agent.pak)).status).toBe(
      200,
    );
  });
});

describe("agent paths of another agent's id", () => {
  it("answer exactly as an unknown id, before any lookup beyond the caller's identity", async () => {
    const { agent } = await targetedAgent();
    const other = await createAgent(broker, { activate: true });
    for (const [method, path, body] of [
      ["GET", "target-state", undefined],
      ["GET", "events", undefined],
      ["POST", "heartbeat", {}],
      ["PATCH", "health-status", { deployment_objects: [] }],
    ] as const) {
      // Uncached, the caller's key lookup is the one statement allowed (auth/identity-cache.ts).
      broker.app.identities.cache.clear();
      const known = await countBrokerStatements(() => rest(method, `/agents/${other.id}/${path}`, agent.pak, body));
      const unknown = await rest(method, `/agents/${UNKNOWN}/${path}`, agent.pak, body);
      expect(known.result).toEqual(unknown);
      expect(known.result.status).toBe(403);
      expect(known.statements).toBe(1);
    }
  });
});
