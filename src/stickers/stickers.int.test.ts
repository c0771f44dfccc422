import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { outboxProbe } from "../../test/domain-events.js";
import { CONFIGMAP_YAML, createAgent, createGenerator, reportEvent, unique } from "../../test/factories.js";
import { deliverTask, releaseFixture, reportDrift, reportSticker, stickersOf, succeedTask } from "../../test/stickers.js";
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
    const { objectId } = await deliverTask(broker, f.task, f.stack, CONFIGMAP_YAML(unique("cm")));
    expect(errorCode(await reportSticker(broker, f.agent.pak, f.task.taskId))).toBe("CONFLICT");
    await reportEvent(broker, f.agent.pak, objectId, "FAILURE");
    expect(errorCode(await reportSticker(broker, f.agent.pak, f.task.taskId))).toBe("CONFLICT");
    await broker.db.sql.query(`UPDATE deployment_tasks SET status = 'FAILED' WHERE id = $1`, [f.task.taskId]);
    const failed = await reportSticker(broker, f.agent.pak, f.task.taskId);
    expect(failed.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.taskId" });
  });

  it("takes the sticker of a task still DELIVERED once the agent reported SUCCESS for its object (before the runner folds it in)", async () => {
    const f = await releaseFixture(broker);
    const { objectId } = await deliverTask(broker, f.task, f.stack, CONFIGMAP_YAML(unique("cm")));
    await reportEvent(broker, f.agent.pak, objectId, "SUCCESS");
    expect((await reportSticker(broker, f.agent.pak, f.task.taskId)).errors).toBeUndefined();
    expect(await stickersOf(broker, f.agent.id)).toHaveLength(1);
  });

  it("refuses bad input naming the field: hash, content size and shape, task id", async () => {
    const f = await succeeded();
    const cases: [Record<string, unknown>, string][] = [
      [{ contentHash: "A".repeat(64) }, "input.contentHash"],
      [{ contentHash: "ab" }, "input.contentHash"],
      [{ content: { big: "x".repeat(16 * 1024) } }, "input.content"],
      [{ content: ["not", "an", "object"] }, "input.content"],
      [{ content: { bad: "nul\u0000" } }, "input.content.bad"],
      [{ writtenAt: new Date(Date.now() + 3_600_000).toISOString() }, "input.writtenAt"],
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
    // Only this task's events: the rollout runner may finish the fixture's promotion meanwhile.
    const ofTask = (events: Awaited<ReturnType<typeof outbox.eventsDuring>>) =>
      events.filter((e) => e.data.task_id === f.task.taskId);
    const detected = ofTask(
      await outbox.eventsDuring(async () => {
        const res = ok(await reportDrift(broker, f.agent.pak, { taskId: f.task.taskId, drifted: true, items: [ITEM] }));
        expect(res.reportDrift.sticker).toMatchObject({
          driftDetected: true,
          driftDetails: [{ ...ITEM, manager: null }],
          healedAt: null,
        });
        expect(res.reportDrift.sticker.driftCheckedAt).toEqual(expect.any(String));
      }),
    );
    expect(outbox.types(detected)).toEqual(["release.drift_detected"]);
    expect(detected[0]).toMatchObject({
      agent_id: f.agent.id,
      data: { task_id: f.task.taskId, release_id: f.task.releaseId, environment_id: f.task.environmentId, healed: false },
    });
    // The agent's periodic confirmation of the same state tells nobody anything new.
    const confirmed = ofTask(
      await outbox.eventsDuring(() => reportDrift(broker, f.agent.pak, { taskId: f.task.taskId, drifted: true, items: [ITEM] })),
    );
    expect(confirmed).toEqual([]);
    const resolved = ofTask(
      await outbox.eventsDuring(async () => {
        const res = ok(await reportDrift(broker, f.agent.pak, { taskId: f.task.taskId, drifted: false, items: [] }));
        expect(res.reportDrift.sticker).toMatchObject({ driftDetected: false, driftDetails: [] });
      }),
    );
    expect(outbox.types(resolved)).toEqual(["release.drift_resolved"]);
  });

  it("records a heal: drift detected and resolved in one report, healedAt set, no drift left", async () => {
    const f = await succeeded({ driftPolicy: "HEAL" });
    ok(await reportSticker(broker, f.agent.pak, f.task.taskId));
    const outbox = outboxProbe(broker.db.sql);
    const during = await outbox.eventsDuring(async () => {
      const res = ok(
        await reportDrift(broker, f.agent.pak, { taskId: f.task.taskId, drifted: true, healed: true, items: [ITEM] }),
      );
      expect(res.reportDrift.sticker).toMatchObject({ driftDetected: false, driftDetails: [{ ...ITEM, manager: null }] });
      expect(res.reportDrift.sticker.healedAt).toEqual(expect.any(String));
    });
    // Only this task's events: the rollout runner may finish the fixture's promotion meanwhile.
    const events = during.filter((e) => e.data.task_id === f.task.taskId);
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
