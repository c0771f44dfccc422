import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { CONFIGMAP_YAML, createGenerator, unique } from "../../test/factories.js";
import {
  deliverTask,
  insertReleaseTask,
  releaseFixture,
  reportDrift,
  reportSticker,
  stickersOf,
  succeedTask,
} from "../../test/stickers.js";
import { createUser } from "../../test/users.js";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({ BROKKR__STICKERS__NAMESPACE: "release-stickers" });
});

/** A release task delivered and succeeded, ready for a sticker. */
async function succeeded(opts: { driftPolicy?: "REPORT" | "HEAL" } = {}) {
  const f = await releaseFixture(broker, opts);
  const { objectId } = await deliverTask(broker, f.task, f.stack, CONFIGMAP_YAML(unique("cm")));
  await succeedTask(broker, f.task.taskId);
  return { ...f, objectId };
}

const ITEM = { reason: "CHANGED", apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: "web", path: "data.key" };

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
    ok(await reportSticker(broker, a.agent.pak, a.task.taskId, { writtenAt: new Date().toISOString() }));
    ok(await reportSticker(broker, b.agent.pak, b.task.taskId, { writtenAt: new Date(Date.now() + 1000).toISOString() }));
    const page = (after?: string) =>
      broker.gql(`query($after: String) { versionStickers(first: 1, after: $after) { id agent { id } } }`, { after });
    const first = ok(await page()).versionStickers;
    expect(first.map((s: { agent: { id: string } }) => s.agent.id)).toEqual([b.agent.id]);
    const second = ok(await page(first[0].id)).versionStickers;
    expect(second.map((s: { agent: { id: string } }) => s.agent.id)).toEqual([a.agent.id]);
    expect((await page("nope")).errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "after" });
  });
});
