import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { countBrokerStatements } from "../../test/count-statements.js";
import { outboxProbe } from "../../test/domain-events.js";
import { CONFIGMAP_YAML, createAgent, createGenerator, createObject, targetStack, unique } from "../../test/factories.js";
import {
  DIGEST,
  deliverTask,
  insertReleaseTask,
  releaseFixture,
  reportDrift,
  reportSticker,
  stickersOf,
  succeedTask,
} from "../../test/stickers.js";
import { nextOpened, waitUntil, wsClient } from "../../test/subscriptions.js";
import { createUser } from "../../test/users.js";
import { AgentDeploymentsDocument } from "../../agent/generated/operations.js";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({ BROKKR__STICKERS__NAMESPACE: "release-stickers" });
});

const CONTEXT = `releaseContext { taskId releaseId releaseName promotionId environmentId environmentName
  digests { component image tag digest semver } stickerNamespace driftPolicy }`;

/** A release task delivered and succeeded, ready for a sticker. */
async function succeeded(opts: { driftPolicy?: "REPORT" | "HEAL" } = {}) {
  const f = await releaseFixture(broker, opts);
  const { objectId } = await deliverTask(broker, f.task, f.stack, CONFIGMAP_YAML(unique("cm")));
  await succeedTask(broker, f.task.taskId);
  return { ...f, objectId };
}

const ITEM = { reason: "CHANGED", apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: "web", path: "data.key" };

describe("DeploymentObject.releaseContext", () => {
  it("tells where a release job's object came from, with the sticker namespace from the broker's settings", async () => {
    const f = await releaseFixture(broker, { driftPolicy: "HEAL" });
    const { objectId } = await deliverTask(broker, f.task, f.stack, CONFIGMAP_YAML());
    const data = ok(
      await broker.gql(`query($id: ID!) { deploymentObject(id: $id) { ${CONTEXT} } }`, { id: objectId }, f.agent.pak),
    );
    expect(data.deploymentObject.releaseContext).toEqual({
      taskId: f.task.taskId,
      releaseId: f.task.releaseId,
      releaseName: f.task.releaseName,
      promotionId: f.task.promotionId,
      environmentId: f.task.environmentId,
      environmentName: f.task.environmentName,
      digests: [
        { component: expect.any(String), image: `registry.example/web@${DIGEST}`, tag: "1.2.3", digest: DIGEST, semver: "1.2.3" },
      ],
      stickerNamespace: "release-stickers",
      driftPolicy: "HEAL",
    });
  });

  it("is null for an object no release job delivered", async () => {
    const gen = await createGenerator(broker);
    const stack = await broker.gql(`mutation { createStack(input: { name: "${unique("s")}" }) { stack { id } } }`, {}, gen.pak);
    const obj = await createObject(broker, gen.pak, ok(stack).createStack.stack.id);
    const data = ok(await broker.gql(`query($id: ID!) { deploymentObject(id: $id) { ${CONTEXT} } }`, { id: obj.id }));
    expect(data.deploymentObject.releaseContext).toBeNull();
  });

  it("loads the contexts of a page of objects in one statement", async () => {
    const f = await releaseFixture(broker);
    await deliverTask(broker, f.task, f.stack, CONFIGMAP_YAML("a"));
    for (let i = 0; i < 4; i++) {
      const t = await insertReleaseTask(broker, f.agent.id, { stackId: f.stack.id });
      await deliverTask(broker, t, f.stack, CONFIGMAP_YAML(`b${i}`));
    }
    const query = (withContext: boolean) =>
      broker.gql(
        `query($id: ID!) { stack(id: $id) { deploymentObjects(first: 10) { edges { node { id ${withContext ? CONTEXT : ""} } } } } }`,
        {
          id: f.stack.id,
        },
      );
    await query(false); // the admin key's lookup is cached from here on
    const without = await countBrokerStatements(() => query(false));
    const withContexts = await countBrokerStatements(() => query(true));
    const nodes = ok(withContexts.result).stack.deploymentObjects.edges;
    expect(nodes).toHaveLength(5);
    expect(nodes.every((e: { node: { releaseContext: unknown } }) => e.node.releaseContext !== null)).toBe(true);
    expect(withContexts.statements - without.statements).toBe(1);
  });
});

/** Subscribes with the shipped agent's own operation; resolves once the broker opened the stream. */
async function agentSubscription(agent: { id: string; pak: string }) {
  const opened = nextOpened(broker, `agentDeployments:${agent.id}`);
  const client = wsClient(broker.url, agent.pak);
  const payloads: unknown[] = [];
  client.subscribe(
    { query: AgentDeploymentsDocument.toString(), variables: { after: "0" } },
    {
      next: (r) => void payloads.push(r),
      error: () => {},
      complete: () => {},
    },
  );
  await opened;
  return { payloads, stop: () => client.dispose() };
}

describe("releaseContext on agentDeployments", () => {
  it("rides on the payload every agent of the stack receives alike: it names the object's task, whoever reads it", async () => {
    const f = await releaseFixture(broker);
    const other = await createAgent(broker, { activate: true });
    await targetStack(broker, other.id, f.stack.id);
    const mine = await agentSubscription(f.agent);
    const theirs = await agentSubscription(other);
    const { objectId } = await deliverTask(broker, f.task, f.stack, CONFIGMAP_YAML(unique("shared")));
    const arrived = (p: unknown[]) => JSON.stringify(p).includes(objectId);
    await waitUntil(
      () => arrived(mine.payloads) && arrived(theirs.payloads),
      () => "the object did not reach both agents",
    );
    const last = (p: unknown[]) => p.find((x) => JSON.stringify(x).includes(objectId)) as { data: any };
    expect(last(theirs.payloads)).toEqual(last(mine.payloads));
    expect(last(mine.payloads).data.agentDeployments.deploymentObject.releaseContext).toMatchObject({
      taskId: f.task.taskId,
      stickerNamespace: "release-stickers",
    });
    await mine.stop();
    await theirs.stop();
  });
});

describe("reportVersionSticker", () => {
  it("records the agent's sticker for its succeeded task, and a repeated report replaces its content", async () => {
    const f = await succeeded();
    const first = ok(await reportSticker(broker, f.agent.pak, f.task.taskId, { content: { release: "one" } }));
    expect(first.reportVersionSticker.sticker).toMatchObject({
      contentHash: "a".repeat(64),
      content: { release: "one" },
      driftDetected: false,
      agent: { id: f.agent.id },
      environment: { id: f.task.environmentId, name: f.task.environmentName },
      release: { id: f.task.releaseId, name: f.task.releaseName },
      promotion: { id: f.task.promotionId },
    });
    const again = ok(
      await reportSticker(broker, f.agent.pak, f.task.taskId, { content: { release: "two" }, contentHash: "b".repeat(64) }),
    );
    expect(again.reportVersionSticker.sticker).toMatchObject({
      id: first.reportVersionSticker.sticker.id,
      content: { release: "two" },
    });
  });

  it("is for agents only, and only for their own tasks", async () => {
    const f = await succeeded();
    const other = await createAgent(broker, { activate: true });
    const viewer = await createUser(broker, "VIEWER");
    const gen = await createGenerator(broker);
    expect(errorCode(await reportSticker(broker, null, f.task.taskId))).toBe("UNAUTHENTICATED");
    expect(errorCode(await reportSticker(broker, broker.adminPak, f.task.taskId))).toBe("FORBIDDEN");
    expect(errorCode(await reportSticker(broker, viewer.pak, f.task.taskId))).toBe("FORBIDDEN");
    expect(errorCode(await reportSticker(broker, gen.pak, f.task.taskId))).toBe("FORBIDDEN");
    expect(errorCode(await reportSticker(broker, other.pak, f.task.taskId))).toBe("FORBIDDEN");
    // A task that does not exist looks the same as another agent's.
    expect(errorCode(await reportSticker(broker, other.pak, crypto.randomUUID()))).toBe("FORBIDDEN");
    expect(await stickersOf(broker, f.agent.id)).toEqual([]);
  });

  it("refuses a task that has not succeeded: CONFLICT while delivered, BAD_USER_INPUT when it failed", async () => {
    const f = await releaseFixture(broker);
    await deliverTask(broker, f.task, f.stack, CONFIGMAP_YAML(unique("cm")));
    expect(errorCode(await reportSticker(broker, f.agent.pak, f.task.taskId))).toBe("CONFLICT");
    await broker.db.sql.query(`UPDATE deployment_tasks SET status = 'FAILED' WHERE id = $1`, [f.task.taskId]);
    const failed = await reportSticker(broker, f.agent.pak, f.task.taskId);
    expect(failed.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.taskId" });
  });

  it("refuses bad input naming the field: hash, content size and shape, task id", async () => {
    const f = await succeeded();
    const cases: [Record<string, unknown>, string][] = [
      [{ contentHash: "A".repeat(64) }, "input.contentHash"],
      [{ contentHash: "ab" }, "input.contentHash"],
      [{ content: { big: "x".repeat(16 * 1024) } }, "input.content"],
      [{ content: ["not", "an", "object"] }, "input.content"],
      [{ content: { bad: "nul\u0000" } }, "input.content.bad"],
    ];
    for (const [extra, field] of cases) {
      const res = await reportSticker(broker, f.agent.pak, f.task.taskId, extra);
      expect(res.errors?.[0]?.extensions, field).toMatchObject({ code: "BAD_USER_INPUT", field });
    }
    const res = await reportSticker(broker, f.agent.pak, "not-a-uuid");
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.taskId" });
    expect(await stickersOf(broker, f.agent.id)).toEqual([]);
  });
});

describe("reportDrift", () => {
  it("records drift and publishes release.drift_detected once, then release.drift_resolved when it clears", async () => {
    const f = await succeeded();
    ok(await reportSticker(broker, f.agent.pak, f.task.taskId));
    const outbox = outboxProbe(broker.db.sql);
    const detected = await outbox.eventsDuring(async () => {
      const res = ok(await reportDrift(broker, f.agent.pak, { taskId: f.task.taskId, drifted: true, items: [ITEM] }));
      expect(res.reportDrift.sticker).toMatchObject({
        driftDetected: true,
        driftDetails: [{ ...ITEM, manager: null }],
        healedAt: null,
      });
      expect(res.reportDrift.sticker.driftCheckedAt).toEqual(expect.any(String));
    });
    expect(outbox.types(detected)).toEqual(["release.drift_detected"]);
    expect(detected[0]).toMatchObject({
      agent_id: f.agent.id,
      data: { task_id: f.task.taskId, release_id: f.task.releaseId, environment_id: f.task.environmentId, healed: false },
    });
    // The agent's periodic confirmation of the same state tells nobody anything new.
    const confirmed = await outbox.eventsDuring(() =>
      reportDrift(broker, f.agent.pak, { taskId: f.task.taskId, drifted: true, items: [ITEM] }),
    );
    expect(confirmed).toEqual([]);
    const resolved = await outbox.eventsDuring(async () => {
      const res = ok(await reportDrift(broker, f.agent.pak, { taskId: f.task.taskId, drifted: false, items: [] }));
      expect(res.reportDrift.sticker).toMatchObject({ driftDetected: false, driftDetails: [] });
    });
    expect(outbox.types(resolved)).toEqual(["release.drift_resolved"]);
  });

  it("records a heal: drift detected and resolved in one report, healedAt set, no drift left", async () => {
    const f = await succeeded({ driftPolicy: "HEAL" });
    ok(await reportSticker(broker, f.agent.pak, f.task.taskId));
    const outbox = outboxProbe(broker.db.sql);
    const events = await outbox.eventsDuring(async () => {
      const res = ok(
        await reportDrift(broker, f.agent.pak, { taskId: f.task.taskId, drifted: true, healed: true, items: [ITEM] }),
      );
      expect(res.reportDrift.sticker).toMatchObject({ driftDetected: false, driftDetails: [{ ...ITEM, manager: null }] });
      expect(res.reportDrift.sticker.healedAt).toEqual(expect.any(String));
    });
    expect(outbox.types(events)).toEqual(["release.drift_detected", "release.drift_resolved"]);
    expect(events.every((e) => e.data.healed === true)).toBe(true);
  });

  it("is for agents only, and only for their own tasks; refuses a task with no sticker yet", async () => {
    const f = await succeeded();
    const other = await createAgent(broker, { activate: true });
    const input = { taskId: f.task.taskId, drifted: true, items: [ITEM] };
    expect(errorCode(await reportDrift(broker, null, input))).toBe("UNAUTHENTICATED");
    expect(errorCode(await reportDrift(broker, broker.adminPak, input))).toBe("FORBIDDEN");
    expect(errorCode(await reportDrift(broker, (await createUser(broker, "APPROVER")).pak, input))).toBe("FORBIDDEN");
    expect(errorCode(await reportDrift(broker, other.pak, input))).toBe("FORBIDDEN");
    expect(errorCode(await reportDrift(broker, f.agent.pak, input))).toBe("CONFLICT");
  });

  it("refuses inconsistent or unbounded reports naming the field", async () => {
    const f = await succeeded();
    ok(await reportSticker(broker, f.agent.pak, f.task.taskId));
    const cases: [Record<string, unknown>, string][] = [
      [{ drifted: true, items: [] }, "input.items"],
      [{ drifted: false, items: [ITEM] }, "input.items"],
      [{ drifted: false, healed: true, items: [] }, "input.healed"],
      [{ drifted: true, items: [{ ...ITEM, name: "n".repeat(254) }] }, "input.items.0.name"],
      [{ drifted: true, items: [{ ...ITEM, path: "p".repeat(1025) }] }, "input.items.0.path"],
      [{ drifted: true, items: [{ ...ITEM, kind: " " }] }, "input.items.0.kind"],
    ];
    for (const [extra, field] of cases) {
      const res = await reportDrift(broker, f.agent.pak, { taskId: f.task.taskId, ...extra });
      expect(res.errors?.[0]?.extensions, field).toMatchObject({ code: "BAD_USER_INPUT", field });
    }
    const tooMany = await reportDrift(broker, f.agent.pak, { taskId: f.task.taskId, drifted: true, items: Array(51).fill(ITEM) });
    expect(errorCode(tooMany)).toBe("LIST_TOO_LONG");
    expect((await stickersOf(broker, f.agent.id))[0]).toMatchObject({ driftDetected: false, driftCheckedAt: null });
  });
});

describe("versionStickers and Agent.versionStickers", () => {
  it("lists the current sticker per agent and environment, filtered by environment and drift, to admins and users", async () => {
    const f = await succeeded();
    ok(await reportSticker(broker, f.agent.pak, f.task.taskId, { writtenAt: "2026-01-01T00:00:00Z" }));
    // A newer release in the same environment: its sticker becomes the current one.
    const next = await insertReleaseTask(broker, f.agent.id, { stackId: f.stack.id });
    await broker.db.sql.query(`UPDATE deployment_jobs SET environment_id = $1 WHERE id = $2`, [f.task.environmentId, next.jobId]);
    await deliverTask(broker, next, f.stack, CONFIGMAP_YAML(unique("next")));
    await succeedTask(broker, next.taskId);
    ok(await reportSticker(broker, f.agent.pak, next.taskId, { writtenAt: "2026-01-02T00:00:00Z" }));
    ok(await reportDrift(broker, f.agent.pak, { taskId: next.taskId, drifted: true, items: [ITEM] }));
    const list = (pak: string, vars: Record<string, unknown>) =>
      broker.gql(
        `query($e: ID, $d: Boolean, $after: String) { versionStickers(environmentId: $e, driftDetected: $d, after: $after) { id release { id } driftDetected } }`,
        vars,
        pak,
      );
    const viewer = await createUser(broker, "VIEWER");
    for (const pak of [broker.adminPak, viewer.pak]) {
      const all = ok(await list(pak, { e: f.task.environmentId })).versionStickers;
      expect(all).toEqual([{ id: expect.any(String), release: { id: next.releaseId }, driftDetected: true }]);
      expect(ok(await list(pak, { e: f.task.environmentId, d: false })).versionStickers).toEqual([]);
    }
    expect((await stickersOf(broker, f.agent.id)).map((s) => s.release.id)).toEqual([next.releaseId]);
  });

  it("shows an agent only its own stickers, and generators none", async () => {
    const a = await succeeded();
    const b = await succeeded();
    ok(await reportSticker(broker, a.agent.pak, a.task.taskId));
    ok(await reportSticker(broker, b.agent.pak, b.task.taskId));
    const mine = ok(await broker.gql(`{ versionStickers(first: 500) { agent { id } } }`, {}, a.agent.pak)).versionStickers;
    expect(new Set(mine.map((s: { agent: { id: string } }) => s.agent.id))).toEqual(new Set([a.agent.id]));
    expect((await stickersOf(broker, a.agent.id, a.agent.pak)).length).toBe(1);
    const theirs = await broker.gql(
      `query($id: ID!) { agent(id: $id) { versionStickers { id } } }`,
      { id: b.agent.id },
      a.agent.pak,
    );
    expect(theirs.data?.agent ?? null).toBeNull();
    const gen = await createGenerator(broker);
    expect(errorCode(await broker.gql(`{ versionStickers { id } }`, {}, gen.pak))).toBe("FORBIDDEN");
  });

  it("pages newest first after a sticker id, and refuses a bad one", async () => {
    const a = await succeeded();
    const b = await succeeded();
    ok(await reportSticker(broker, a.agent.pak, a.task.taskId, { writtenAt: "2030-01-01T00:00:00Z" }));
    ok(await reportSticker(broker, b.agent.pak, b.task.taskId, { writtenAt: "2030-01-02T00:00:00Z" }));
    const page = (after?: string) =>
      broker.gql(`query($after: String) { versionStickers(first: 1, after: $after) { id agent { id } } }`, { after });
    const first = ok(await page()).versionStickers;
    expect(first.map((s: { agent: { id: string } }) => s.agent.id)).toEqual([b.agent.id]);
    const second = ok(await page(first[0].id)).versionStickers;
    expect(second.map((s: { agent: { id: string } }) => s.agent.id)).toEqual([a.agent.id]);
    expect((await page("nope")).errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "after" });
  });
});
