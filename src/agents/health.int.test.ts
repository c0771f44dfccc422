import { beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { countBrokerStatements } from "../../test/count-statements.js";
import { createAgent, createGenerator, createObject, createStack, registerAgent, targetStack } from "../../test/factories.js";

let broker: TestBroker;
const CAP = 200;

beforeAll(async () => {
  broker = await startTestBroker({ BROKKR__BROKER__MAX_HEALTH_ENTRIES: String(CAP) });
});

async function patchHealth(agentId: string, pak: string, entries: unknown[] | string) {
  const res = await fetch(`${broker.url}/api/v1/agents/${agentId}/health-status`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${pak}`, "content-type": "application/json" },
    body: typeof entries === "string" ? entries : JSON.stringify({ deployment_objects: entries }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const entry = (id: string, status = "healthy") => ({
  id,
  status,
  summary: { pods_ready: 1 },
  checked_at: new Date().toISOString(),
});

async function targetedAgentWithObjects(count: number) {
  const gen = await createGenerator(broker);
  const agent = await createAgent(broker, { activate: true });
  const objects = [];
  for (let i = 0; i < count; i++) {
    const stack = await createStack(broker, gen.pak);
    await targetStack(broker, agent.id, stack.id);
    objects.push(await createObject(broker, gen.pak, stack.id));
  }
  return { gen, agent, objects };
}

async function storedHealth(agentId: string) {
  const { rows } = await broker.db.sql.query(
    "SELECT deployment_object_id AS id, status FROM deployment_health WHERE agent_id = $1 ORDER BY 1",
    [agentId],
  );
  return rows as { id: string; status: string }[];
}

describe("health reports (PATCH /agents/{id}/health-status)", () => {
  it("writes a report of many entries in one statement, the same count as for one entry", async () => {
    const { agent, objects } = await targetedAgentWithObjects(3);
    await patchHealth(agent.id, agent.pak, [entry(objects[0]!.id)]);
    const one = await countBrokerStatements(() => patchHealth(agent.id, agent.pak, [entry(objects[0]!.id)]));
    // The cap, filled by repeats of three objects: the last entry of each object wins.
    const many = Array.from({ length: CAP }, (_, i) => entry(objects[i % 3]!.id, i >= CAP - 3 ? "degraded" : "healthy"));
    const full = await countBrokerStatements(() => patchHealth(agent.id, agent.pak, many));
    expect(one.result.status).toBe(200);
    expect(full.result.status).toBe(200);
    expect(full.statements).toBe(one.statements);
    expect(full.statements).toBeLessThanOrEqual(3);
    expect((await storedHealth(agent.id)).map((r) => r.status)).toEqual(["degraded", "degraded", "degraded"]);
  });

  it("refuses a report over the entry cap with 413 naming the limit, writing nothing", async () => {
    const { agent, objects } = await targetedAgentWithObjects(1);
    const res = await patchHealth(
      agent.id,
      agent.pak,
      Array.from({ length: CAP + 1 }, () => entry(objects[0]!.id)),
    );
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: "PAYLOAD_TOO_LARGE", field: "deployment_objects" });
    expect(res.body.message).toMatch(/BROKKR__BROKER__MAX_HEALTH_ENTRIES/);
    expect(await storedHealth(agent.id)).toEqual([]);
  });

  it("refuses the whole report when one entry is another stack's object, exactly as for an unknown object", async () => {
    const { agent, objects } = await targetedAgentWithObjects(1);
    const stranger = await createGenerator(broker);
    const foreign = await createObject(broker, stranger.pak, (await createStack(broker, stranger.pak)).id);
    const hidden = await patchHealth(agent.id, agent.pak, [entry(objects[0]!.id), entry(foreign.id)]);
    const unknown = await patchHealth(agent.id, agent.pak, [
      entry(objects[0]!.id),
      entry("00000000-0000-4000-8000-000000000000"),
    ]);
    expect(hidden.status).toBe(403);
    expect(hidden.body).toEqual(unknown.body);
    expect(hidden.body.message).toMatch(/deployment_objects\.1/);
    // A repeated object is written once; the message still names the position in the report sent.
    const afterRepeat = await patchHealth(agent.id, agent.pak, [entry(objects[0]!.id), entry(objects[0]!.id), entry(foreign.id)]);
    expect(afterRepeat.body.message).toMatch(/deployment_objects\.2:/);
    expect(await storedHealth(agent.id)).toEqual([]);
  });

  it("accepts objects of stacks that reach the agent through a label", async () => {
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker, { activate: true, labels: ["health-by-label"] });
    await registerAgent(broker, agent.id, gen.id);
    const object = await createObject(broker, gen.pak, (await createStack(broker, gen.pak, { labels: ["health-by-label"] })).id);
    expect((await patchHealth(agent.id, agent.pak, [entry(object.id)])).status).toBe(200);
  });

  it("refuses a summary nested deeper than 32 levels with 400 naming the field, writing nothing (5,000 deep was a 500)", async () => {
    const { agent, objects } = await targetedAgentWithObjects(1);
    const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
    const report = (depth: number) =>
      `{"deployment_objects":[{"id":"${objects[0]!.id}","status":"ok","checked_at":"2024-01-01T00:00:00Z","summary":${nested(depth)}}]}`;
    for (const depth of [33, 5_000]) {
      const res = await patchHealth(agent.id, agent.pak, report(depth));
      expect(res).toEqual({
        status: 400,
        body: {
          code: "BAD_USER_INPUT",
          field: "deployment_objects.0.summary",
          details: { field: "deployment_objects.0.summary" },
          message: "deployment_objects.0.summary may nest at most 32 levels",
        },
      });
    }
    expect(await storedHealth(agent.id)).toEqual([]);
    expect((await patchHealth(agent.id, agent.pak, report(32))).status).toBe(200);
  });
});
