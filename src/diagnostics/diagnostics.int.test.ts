import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createObject, setAgentStatus, targetedAgent } from "../../test/factories.js";
import { CLAIM, READ, REQUEST, SUBMIT, diagnosticWorld, expire, requestFor, sampleResult } from "../../test/diagnostics.js";

let broker: TestBroker;
let world: Awaited<ReturnType<typeof diagnosticWorld>>;

beforeAll(async () => {
  broker = await startTestBroker();
  world = await diagnosticWorld(broker);
});

const fieldOf = (r: { errors?: { extensions?: { field?: string } }[] }) => r.errors?.[0]?.extensions?.field;

describe("requestDiagnostics", () => {
  it("creates a pending request with Brokkr's default retention of 60 minutes", async () => {
    const before = Date.now();
    const req = await requestFor(broker, world.object.id, world.agent.id);
    expect(req.status).toBe("PENDING");
    const minutes = (Date.parse(req.expiresAt) - before) / 60_000;
    expect(minutes).toBeGreaterThan(59);
    expect(minutes).toBeLessThan(61);
  });

  it.each([0, -5, 1441])("refuses retentionMinutes %i with BAD_USER_INPUT naming the field", async (r) => {
    const res = await broker.gql(REQUEST, { o: world.object.id, a: world.agent.id, r });
    expect(errorCode(res)).toBe("BAD_USER_INPUT");
    expect(fieldOf(res)).toBe("retentionMinutes");
  });

  it("refuses ids that are not UUIDs and a requestedBy over 255 characters, naming the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ o: "nope", a: world.agent.id }, "deploymentObjectId"],
      [{ o: world.object.id, a: "nope" }, "agentId"],
      [{ o: world.object.id, a: world.agent.id, by: "x".repeat(256) }, "requestedBy"],
    ];
    for (const [vars, field] of cases) {
      const res = await broker.gql(REQUEST, vars);
      expect([errorCode(res), fieldOf(res)]).toEqual(["BAD_USER_INPUT", field]);
    }
  });

  it("accepts the bounds 1 and 1440", async () => {
    for (const r of [1, 1440]) expect((await requestFor(broker, world.object.id, world.agent.id, r)).status).toBe("PENDING");
  });

  it("refuses a generator and an agent with FORBIDDEN", async () => {
    for (const pak of [world.gen.pak, world.agent.pak]) {
      expect(errorCode(await broker.gql(REQUEST, { o: world.object.id, a: world.agent.id }, pak))).toBe("FORBIDDEN");
    }
  });

  it("answers NOT_FOUND for an unknown deployment object or agent", async () => {
    const unknown = "00000000-0000-4000-8000-000000000000";
    expect(errorCode(await broker.gql(REQUEST, { o: unknown, a: world.agent.id }))).toBe("NOT_FOUND");
    expect(errorCode(await broker.gql(REQUEST, { o: world.object.id, a: unknown }))).toBe("NOT_FOUND");
  });
});

describe("claim and submit", () => {
  it("lets the agent claim once, submit once, and the admin read the result", async () => {
    const req = await requestFor(broker, world.object.id, world.agent.id);
    const claimed = ok(await broker.gql(CLAIM, { id: req.id }, world.agent.pak));
    expect(claimed.claimDiagnosticRequest.diagnosticRequest).toMatchObject({ status: "CLAIMED", stackId: world.stack.id });
    const again = await broker.gql(CLAIM, { id: req.id }, world.agent.pak);
    expect(errorCode(again)).toBe("CONFLICT");
    const submitted = ok(await broker.gql(SUBMIT, sampleResult(req.id), world.agent.pak));
    expect(submitted.submitDiagnosticResult.diagnosticRequest.status).toBe("COMPLETED");
    expect(errorCode(await broker.gql(SUBMIT, sampleResult(req.id), world.agent.pak))).toBe("CONFLICT");
    const read = ok(await broker.gql(READ, { id: req.id })).diagnosticRequest;
    expect(read.status).toBe("COMPLETED");
    expect(JSON.parse(read.result.podStatuses)).toEqual([{ name: "web-1", phase: "Running" }]);
    expect(read.completedAt).not.toBeNull();
  });

  it("refuses a result for an unclaimed request with CONFLICT", async () => {
    const req = await requestFor(broker, world.object.id, world.agent.id);
    expect(errorCode(await broker.gql(SUBMIT, sampleResult(req.id), world.agent.pak))).toBe("CONFLICT");
  });

  it("lets exactly one of two concurrent claims win", async () => {
    const req = await requestFor(broker, world.object.id, world.agent.id);
    const answers = await Promise.all([1, 2].map(() => broker.gql(CLAIM, { id: req.id }, world.agent.pak)));
    expect(answers.map((a) => errorCode(a) ?? "OK").sort()).toEqual(["CONFLICT", "OK"]);
  });

  it("refuses another agent's claim, submit and read with FORBIDDEN", async () => {
    const other = (await targetedAgent(broker)).agent;
    const req = await requestFor(broker, world.object.id, world.agent.id);
    expect(errorCode(await broker.gql(CLAIM, { id: req.id }, other.pak))).toBe("FORBIDDEN");
    ok(await broker.gql(CLAIM, { id: req.id }, world.agent.pak));
    expect(errorCode(await broker.gql(SUBMIT, sampleResult(req.id), other.pak))).toBe("FORBIDDEN");
    expect(errorCode(await broker.gql(READ, { id: req.id }, other.pak))).toBe("FORBIDDEN");
  });

  it("refuses generators any part in diagnostics", async () => {
    const req = await requestFor(broker, world.object.id, world.agent.id);
    expect(errorCode(await broker.gql(CLAIM, { id: req.id }, world.gen.pak))).toBe("FORBIDDEN");
    expect(errorCode(await broker.gql(SUBMIT, sampleResult(req.id), world.gen.pak))).toBe("FORBIDDEN");
    expect(errorCode(await broker.gql(READ, { id: req.id }, world.gen.pak))).toBe("FORBIDDEN");
    const list = await broker.gql(`{ diagnosticRequests { edges { node { id } } } }`, {}, world.gen.pak);
    expect(errorCode(list)).toBe("FORBIDDEN");
  });

  it("refuses an inactive agent's claim with FORBIDDEN", async () => {
    const agent = await createAgent(broker, { activate: true });
    const req = await requestFor(broker, world.object.id, agent.id);
    await setAgentStatus(broker, agent.id, "INACTIVE");
    expect(errorCode(await broker.gql(CLAIM, { id: req.id }, agent.pak))).toBe("FORBIDDEN");
  });

  it("refuses a result that is not JSON, or too large, naming the field", async () => {
    const req = await requestFor(broker, world.object.id, world.agent.id);
    ok(await broker.gql(CLAIM, { id: req.id }, world.agent.pak));
    const notJson = await broker.gql(SUBMIT, { ...sampleResult(req.id), e: "not json" }, world.agent.pak);
    expect([errorCode(notJson), fieldOf(notJson)]).toEqual(["BAD_USER_INPUT", "events"]);
    const huge = JSON.stringify("x".repeat(1024 * 1024 + 1));
    const tooBig = await broker.gql(SUBMIT, { ...sampleResult(req.id), l: huge }, world.agent.pak);
    expect([errorCode(tooBig), fieldOf(tooBig)]).toEqual(["BAD_USER_INPUT", "logTails"]);
  });
});

describe("expiry", () => {
  it("reads a pending request past its expiry as EXPIRED and refuses its claim with CONFLICT", async () => {
    const req = await requestFor(broker, world.object.id, world.agent.id);
    await expire(broker, req.id);
    expect(ok(await broker.gql(READ, { id: req.id })).diagnosticRequest.status).toBe("EXPIRED");
    const claim = await broker.gql(CLAIM, { id: req.id }, world.agent.pak);
    expect(errorCode(claim)).toBe("CONFLICT");
    expect(claim.errors?.[0]?.message).toMatch(/expired/);
  });

  it("reads a claimed request past its expiry as FAILED and refuses a late result", async () => {
    const req = await requestFor(broker, world.object.id, world.agent.id);
    ok(await broker.gql(CLAIM, { id: req.id }, world.agent.pak));
    await expire(broker, req.id);
    expect(ok(await broker.gql(READ, { id: req.id })).diagnosticRequest.status).toBe("FAILED");
    const late = await broker.gql(SUBMIT, sampleResult(req.id), world.agent.pak);
    expect([errorCode(late), late.errors?.[0]?.message]).toEqual(["CONFLICT", expect.stringMatching(/expired/)]);
  });

  it("deletes expired requests and their results in the clean-up task, and keeps live ones", async () => {
    const done = await requestFor(broker, world.object.id, world.agent.id);
    ok(await broker.gql(CLAIM, { id: done.id }, world.agent.pak));
    ok(await broker.gql(SUBMIT, sampleResult(done.id), world.agent.pak));
    const live = await requestFor(broker, world.object.id, world.agent.id);
    await expire(broker, done.id);
    const outcome = await broker.app.scheduler.runNow("diagnostic-cleanup");
    expect(outcome.outcome).toBe("ok");
    expect(outcome.handled).toBeGreaterThanOrEqual(1);
    expect(errorCode(await broker.gql(READ, { id: done.id }))).toBe("NOT_FOUND");
    const { rows } = await broker.db.sql.query("SELECT count(*)::int AS n FROM diagnostic_results WHERE request_id = $1", [
      done.id,
    ]);
    expect(rows[0].n).toBe(0);
    expect(ok(await broker.gql(READ, { id: live.id })).diagnosticRequest.status).toBe("PENDING");
  });
});

describe("DiagnosticRequest", () => {
  it("links its agent and object, and hides the object from an agent it no longer reaches", async () => {
    const loner = await createAgent(broker, { activate: true });
    const mine = await requestFor(broker, world.object.id, world.agent.id);
    const theirs = await requestFor(broker, world.object.id, loner.id);
    const LINKS = `query($id: ID!) { diagnosticRequest(id: $id) { agent { id } deploymentObject { id } } }`;
    expect(ok(await broker.gql(LINKS, { id: mine.id })).diagnosticRequest).toEqual({
      agent: { id: world.agent.id },
      deploymentObject: { id: world.object.id },
    });
    expect(ok(await broker.gql(LINKS, { id: mine.id }, world.agent.pak)).diagnosticRequest.deploymentObject).toEqual({
      id: world.object.id,
    });
    expect(ok(await broker.gql(LINKS, { id: theirs.id }, loner.pak)).diagnosticRequest).toEqual({
      agent: { id: loner.id },
      deploymentObject: null,
    });
  });
});

describe("diagnosticRequests", () => {
  it("pages newest first, filters by object, and shows an agent only its own", async () => {
    const { gen, stack, agent } = await targetedAgent(broker);
    const object = await createObject(broker, gen.pak, stack.id);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await requestFor(broker, object.id, agent.id)).id);
    const page = `query($f: DiagnosticRequestFilter, $after: String) {
      diagnosticRequests(filter: $f, first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`;
    const first = ok(await broker.gql(page, { f: { deploymentObjectId: object.id } })).diagnosticRequests;
    expect(first.pageInfo.hasNextPage).toBe(true);
    const next = ok(await broker.gql(page, { f: { deploymentObjectId: object.id }, after: first.pageInfo.endCursor }));
    const seen = [...first.edges, ...next.diagnosticRequests.edges].map((e: { node: { id: string } }) => e.node.id);
    expect(seen).toEqual([...ids].reverse());
    const own = ok(await broker.gql(page, {}, agent.pak)).diagnosticRequests.edges;
    expect(own.map((e: { node: { id: string } }) => e.node.id)).toEqual([ids[2], ids[1]]);
    expect(errorCode(await broker.gql(page, { f: { agentId: world.agent.id } }, agent.pak))).toBe("FORBIDDEN");
    const forged = await broker.gql(page, { after: "not-a-cursor" });
    expect([errorCode(forged), fieldOf(forged)]).toEqual(["BAD_USER_INPUT", "after"]);
    const badId = await broker.gql(page, { f: { agentId: "nope" } });
    expect([errorCode(badId), fieldOf(badId)]).toEqual(["BAD_USER_INPUT", "filter.agentId"]);
  });
});
