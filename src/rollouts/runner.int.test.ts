import { describe, expect, it } from "vitest";
import { startTestBroker } from "../../test/broker.js";
import { createAgent, unique } from "../../test/factories.js";
import {
  approvedPromotion,
  createEnvironment,
  createRelease,
  jobsOf,
  promotionStatus,
  reportTasks,
  tasksOf,
} from "../../test/rollouts.js";
import { inTransaction } from "../db/client.js";
import { DEFAULT_INPUT_LIMITS } from "../validation.js";
import { completeJob } from "./complete.js";
import { orchestratorGenerator } from "./deliver.js";
import { jobsByIds } from "./job-store.js";
import { ROLLOUTS_TASK } from "./runner.js";
import { stepJob } from "./step.js";

const broker = await startTestBroker({ BROKKR__ROLLOUTS__INTERVAL_MS: "600000" });
const run = () => broker.app.scheduler.runNow(ROLLOUTS_TASK);
const q = async (text: string, params: unknown[] = []) => (await broker.db.sql.query(text, params)).rows;

describe("the runner without agents running", () => {
  it("fails a promotion whose release does not render into a manifest, with the reason on the job", async () => {
    const agent = await createAgent(broker, { activate: true });
    const env = await createEnvironment(broker, { members: [agent.id] });
    const release = await createRelease(broker, { name: "x", template: "just: {{ name }}\n" });
    const promotionId = await approvedPromotion(broker, release.id, env.id);
    await run();
    const [job] = await jobsOf(broker, promotionId);
    expect(job?.status).toBe("FAILED");
    expect(job?.message).toContain("the release did not render");
    expect(await tasksOf(broker, job!.id)).toHaveLength(0);
    expect(await promotionStatus(broker, promotionId)).toBe("FAILED");
  });

  it("fails a promotion into an environment without agents", async () => {
    const env = await createEnvironment(broker, { members: [] });
    const release = await createRelease(broker, { name: "empty" });
    const promotionId = await approvedPromotion(broker, release.id, env.id);
    await run();
    await run();
    expect((await jobsOf(broker, promotionId))[0]).toMatchObject({ status: "FAILED", message: "the environment has no agents" });
    expect(await promotionStatus(broker, promotionId)).toBe("FAILED");
  });

  it("keeps an approved promotion waiting while a freeze window is active, recording that once, and starts it once the window is gone", async () => {
    const agent = await createAgent(broker, { activate: true });
    const windows = [
      { days: ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"], startTime: "00:00", endTime: "00:00", reason: "always" },
    ];
    const env = await createEnvironment(broker, { members: [agent.id], freezeWindows: windows });
    const release = await createRelease(broker, { name: "frozen" });
    const promotionId = await approvedPromotion(broker, release.id, env.id);
    await run();
    await run();
    expect(await jobsOf(broker, promotionId)).toHaveLength(0);
    expect(await promotionStatus(broker, promotionId)).toBe("APPROVED");
    const [{ decision_record: record }] = await q("SELECT decision_record FROM promotions WHERE id = $1", [promotionId]);
    expect(record).toHaveLength(1);
    expect(record[0]).toMatchObject({ name: "NO_ACTIVE_FREEZE", passed: false, detail: expect.stringMatching(/always/) });
    await q(
      `UPDATE environments SET freeze_windows = '[{"start": "2001-01-01T00:00:00Z", "end": "2001-01-02T00:00:00Z"}]' WHERE id = $1`,
      [env.id],
    );
    await run();
    expect(await jobsOf(broker, promotionId)).toHaveLength(1);
  });

  it("snapshots the environment's active agents: explicit members and agents carrying every selector label", async () => {
    const member = await createAgent(broker, { activate: true });
    const both = await createAgent(broker, { activate: true, labels: ["tier-web", "region-eu"] });
    await createAgent(broker, { activate: true, labels: ["tier-web"] });
    // Inactive agents are withheld everything, so a task for one could only wait forever.
    await createAgent(broker, { activate: false, labels: ["tier-web", "region-eu"] });
    const deleted = await createAgent(broker, { activate: true, labels: ["tier-web", "region-eu"] });
    await q("UPDATE agents SET deleted_at = now() WHERE id = $1", [deleted.id]);
    const env = await createEnvironment(broker, { members: [member.id], selectorLabels: ["tier-web", "region-eu"] });
    const release = await createRelease(broker, { name: "selected" });
    const promotionId = await approvedPromotion(broker, release.id, env.id);
    await run();
    const [job] = await jobsOf(broker, promotionId);
    const agents = (await tasksOf(broker, job!.id)).map((t) => t.agent_id).sort();
    expect(agents).toEqual([member.id, both.id].sort());
  });

  it("fails a delivered task whose agent stays silent past the task timeout, after counting a report that did arrive", async () => {
    const silent = await createAgent(broker, { activate: true });
    const reporting = await createAgent(broker, { activate: true });
    const env = await createEnvironment(broker, { members: [silent.id, reporting.id], failureThreshold: 2 });
    const release = await createRelease(broker, { name: "silent" });
    const promotionId = await approvedPromotion(broker, release.id, env.id);
    await run();
    await run();
    const [job] = await jobsOf(broker, promotionId);
    expect((await tasksOf(broker, job!.id)).map((t) => t.status)).toEqual(["DELIVERED", "DELIVERED"]);
    await q(
      `INSERT INTO agent_events (agent_id, deployment_object_id, status)
       SELECT agent_id, deployment_object_id, 'SUCCESS' FROM deployment_tasks WHERE job_id = $1 AND agent_id = $2`,
      [job!.id, reporting.id],
    );
    await run();
    expect((await tasksOf(broker, job!.id)).find((t) => t.agent_id === silent.id)?.status).toBe("DELIVERED");
    await q("UPDATE deployment_tasks SET delivered_at = now() - interval '31 minutes' WHERE job_id = $1", [job!.id]);
    await run();
    const tasks = await tasksOf(broker, job!.id);
    expect(tasks.find((t) => t.agent_id === reporting.id)?.status).toBe("SUCCEEDED");
    expect(tasks.find((t) => t.agent_id === silent.id)).toMatchObject({
      status: "FAILED",
      message: "no report from the agent within 1800 s of delivery",
    });
    expect((await jobsOf(broker, promotionId))[0]?.status).toBe("FAILED");
    expect(await promotionStatus(broker, promotionId)).toBe("FAILED");
  });

  it("holds the next batch while a succeeded task's object reports failing health", async () => {
    const agents = [
      await createAgent(broker, { name: unique("h0"), activate: true }),
      await createAgent(broker, { activate: true }),
    ];
    agents.sort((a, b) => (a.name < b.name ? -1 : 1));
    const env = await createEnvironment(broker, { members: agents.map((a) => a.id), strategy: "ROLLING", batchSize: 1 });
    const release = await createRelease(broker, { name: "healthy" });
    const promotionId = await approvedPromotion(broker, release.id, env.id);
    await run();
    const [job] = await jobsOf(broker, promotionId);
    await reportTasks(broker, job!.id);
    const [first] = await tasksOf(broker, job!.id);
    await q(
      "INSERT INTO deployment_health (agent_id, deployment_object_id, status, checked_at) VALUES ($1, $2, 'failing', now())",
      [first!.agent_id, first!.deployment_object_id],
    );
    await run();
    expect((await tasksOf(broker, job!.id)).map((t) => t.status)).toEqual(["SUCCEEDED", "PENDING"]);
    await q("UPDATE deployment_health SET status = 'healthy' WHERE deployment_object_id = $1", [first!.deployment_object_id]);
    await run();
    expect((await tasksOf(broker, job!.id)).map((t) => t.status)).toEqual(["SUCCEEDED", "DELIVERED"]);
  });

  it("leaves a job alone while another broker's lease on it lasts", async () => {
    const agent = await createAgent(broker, { activate: true });
    const env = await createEnvironment(broker, { members: [agent.id] });
    const release = await createRelease(broker, { name: "stale" });
    const promotionId = await approvedPromotion(broker, release.id, env.id);
    // Another broker took the job over (fresh lease): this broker's runs leave it alone.
    await run();
    const [job] = await jobsOf(broker, promotionId);
    await reportTasks(broker, job!.id);
    await q(
      "UPDATE deployment_jobs SET lease_owner = 'broker-other', lease_expires_at = now() + interval '1 hour' WHERE id = $1",
      [job!.id],
    );
    await run();
    expect((await tasksOf(broker, job!.id)).map((t) => t.status)).toEqual(["DELIVERED"]);
    expect((await jobsOf(broker, promotionId))[0]?.status).toBe("RUNNING");
  });
});

describe("a broker that lost the lease", () => {
  it("writes nothing: no object delivered, no event folded, no completion", async () => {
    const agents = await Promise.all([createAgent(broker, { activate: true }), createAgent(broker, { activate: true })]);
    const env = await createEnvironment(broker, { members: agents.map((a) => a.id) });
    const release = await createRelease(broker, { name: "stale-step" });
    const promotionId = await approvedPromotion(broker, release.id, env.id);
    await run();
    const [view] = await jobsOf(broker, promotionId);
    const [first] = await tasksOf(broker, view!.id);
    // One task reported, the other as if not yet delivered.
    await q("INSERT INTO agent_events (agent_id, deployment_object_id, status) VALUES ($1, $2, 'SUCCESS')", [
      first!.agent_id,
      first!.deployment_object_id,
    ]);
    await q("UPDATE deployment_tasks SET status = 'PENDING', deployment_object_id = NULL WHERE job_id = $1 AND agent_id <> $2", [
      view!.id,
      first!.agent_id,
    ]);
    const objects = async () => (await q("SELECT count(*)::int AS n FROM deployment_objects"))[0].n as number;
    const before = await objects();
    const db = broker.app.database.prisma;
    const [job] = await jobsByIds(db, [view!.id]);
    const stale = {
      db,
      committed: broker.app.delivery,
      limits: DEFAULT_INPUT_LIMITS,
      owner: "broker-stale",
      generatorId: orchestratorGenerator(db),
      signer: () => broker.app.evidence.signer(),
      taskTimeoutSeconds: () => 1800,
    };
    await stepJob(stale, job!);
    expect(await objects()).toBe(before);
    expect((await tasksOf(broker, view!.id)).map((t) => t.status).sort()).toEqual(["DELIVERED", "PENDING"]);
    await inTransaction(db, async (tx) => {
      const signer = await broker.app.evidence.signer();
      expect(await completeJob(tx, job!, "broker-stale", { status: "SUCCEEDED", message: null }, signer)).toBeNull();
    });
    expect(await promotionStatus(broker, promotionId)).toBe("DEPLOYING");
  });
});
