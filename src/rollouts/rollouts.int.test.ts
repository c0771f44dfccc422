import { afterAll, describe, expect, it } from "vitest";
import type { AgentRuntime } from "../../agent/app.js";
import { agentWorld } from "../../test/agent-world.js";
import { errorCode, ok } from "../../test/broker.js";
import { createAgent, unique } from "../../test/factories.js";
import { type FakeKube, startFakeKube } from "../../test/fake-kube/index.js";
import {
  approvedPromotion,
  completionPacket,
  createEnvironment,
  createRelease,
  jobsOf,
  promotionStatus,
  tasksOf,
  type EnvironmentOptions,
} from "../../test/rollouts.js";
import { waitUntil } from "../../test/subscriptions.js";
import { ORCHESTRATOR_GENERATOR } from "./deliver.js";
import { ROLLOUTS_TASK } from "./runner.js";

// The runner is driven by runNow; its own timer is kept out of the way.
const world = await agentWorld({ BROKKR__ROLLOUTS__INTERVAL_MS: "600000" });
const { broker } = world;
const kubes: FakeKube[] = [];
const runtimes: AgentRuntime[] = [];
afterAll(async () => {
  for (const runtime of runtimes) await runtime.stop();
  for (const kube of kubes) await kube.stop();
});

/** Agents named `<prefix>-<i>` (so their batch order is their index), each with a cluster of its own. */
async function agents(count: number) {
  const prefix = unique("ra");
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const agent = await createAgent(broker, { name: `${prefix}-${i}`, activate: true });
      const kube = await startFakeKube();
      kubes.push(kube);
      const start = async () => {
        const runtime = await world.launch(agent.pak, { KUBECONFIG_PATH: kube.kubeconfigPath });
        runtimes.push(runtime);
        return runtime;
      };
      return { ...agent, kube, start };
    }),
  );
}

const run = () => broker.app.scheduler.runNow(ROLLOUTS_TASK);
const liveData = (kube: FakeKube, name: string) =>
  kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name })?.data as Record<string, string> | undefined;

/** Runs the runner until `check` holds (each run sees every event committed before it). */
const driveUntil = (check: () => Promise<boolean>, what: string) =>
  waitUntil(
    async () => (await run()).outcome === "ok" && (await check()),
    () => `timed out waiting for ${what}`,
    90_000,
  );

const jobDone = (promotionId: string) => async () => {
  const jobs = await jobsOf(broker, promotionId);
  return jobs.length > 0 && jobs.every((j) => j.status === "SUCCEEDED" || j.status === "FAILED");
};

async function promote(opts: EnvironmentOptions & { name: string }) {
  const env = await createEnvironment(broker, opts);
  const release = await createRelease(broker, { name: opts.name });
  return { env, release, promotionId: await approvedPromotion(broker, release.id, env.id) };
}

const q = async (text: string, params: unknown[]) => (await broker.db.sql.query(text, params)).rows;

// A ceiling, not a measure: several agents and brokers share two loaded cores here.
describe("rollouts with real agents", { timeout: 120_000 }, () => {
  it("delivers ALL_AT_ONCE to every agent of the environment and marks the promotion and release DEPLOYED", async () => {
    const [a, b] = await agents(2);
    await Promise.all([a, b].map((x) => x?.start()));
    const name = unique("cm");
    const { env, release, promotionId } = await promote({ name, members: [a!.id, b!.id], config: { color: "blue" } });
    await driveUntil(jobDone(promotionId), "the job to finish");
    const [job] = await jobsOf(broker, promotionId);
    expect(job?.status).toBe("SUCCEEDED");
    for (const x of [a!, b!])
      expect(liveData(x.kube, name)).toMatchObject({ image: release.image, environment: env.name, color: "blue" });
    expect((await tasksOf(broker, job!.id)).map((t) => [t.batch_index, t.status])).toEqual([
      [0, "SUCCEEDED"],
      [0, "SUCCEEDED"],
    ]);
    expect(await promotionStatus(broker, promotionId)).toBe("DEPLOYED");
    expect((await q("SELECT status FROM releases WHERE id = $1", [release.id]))[0].status).toBe("DEPLOYED");
    const [promotion] = await q("SELECT completed_at, decision_record FROM promotions WHERE id = $1", [promotionId]);
    expect(promotion.completed_at).not.toBeNull();
    expect(promotion.decision_record.at(-1)).toMatchObject({ name: "NO_ACTIVE_FREEZE", passed: true });
    const events = await q(
      "SELECT data FROM domain_events WHERE event_type = 'promotion.deployed' AND data->>'promotionId' = $1",
      [promotionId],
    );
    expect(events).toHaveLength(1);
    const evidence = await completionPacket(broker, job!.id);
    expect(evidence.verdicts).toEqual([{ ok: true }]);
    expect(evidence.packets[0]).toMatchObject({ packetType: "JOB_COMPLETED", promotionId });
    expect(evidence.packets[0]?.content).toMatchObject({
      status: "SUCCEEDED",
      artifacts: { components: [{ component: "web", digest: release.digest, image: release.image }] },
      results: [{ status: "SUCCEEDED" }, { status: "SUCCEEDED" }],
    });
    expect(evidence.packets[0]?.content.renderedChecksum).toMatch(/^[0-9a-f]{64}$/);
    // Each agent's stack is the orchestrator's, targeted at that agent alone.
    const stacks = await q(
      `SELECT s.agent_id, g.name AS generator, array_agg(t.agent_id) AS targets
         FROM environment_agent_stacks s JOIN stacks st ON st.id = s.stack_id JOIN generators g ON g.id = st.generator_id
         JOIN agent_targets t ON t.stack_id = s.stack_id WHERE s.environment_id = $1 GROUP BY s.agent_id, g.name`,
      [env.id],
    );
    expect(stacks).toHaveLength(2);
    for (const s of stacks) expect(s).toEqual({ agent_id: s.agent_id, generator: ORCHESTRATOR_GENERATOR, targets: [s.agent_id] });
  });

  it("rolls out in batches, starting a batch only after every task of the previous one succeeded", async () => {
    const [first, second, third] = await agents(3);
    await Promise.all([second, third].map((x) => x?.start()));
    const name = unique("cm");
    const members = [first!.id, second!.id, third!.id];
    const { promotionId } = await promote({ name, members, strategy: "ROLLING", batchSize: 1 });
    await run();
    await run();
    const [job] = await jobsOf(broker, promotionId);
    // The first batch's agent is not running: nothing reports, so the next batch waits.
    expect((await tasksOf(broker, job!.id)).map((t) => [t.batch_index, t.status])).toEqual([
      [0, "DELIVERED"],
      [1, "PENDING"],
      [2, "PENDING"],
    ]);
    expect(liveData(second!.kube, name)).toBeUndefined();
    await first!.start();
    await driveUntil(jobDone(promotionId), "the job to finish");
    const tasks = await q(
      "SELECT batch_index, status, delivered_at, finished_at FROM deployment_tasks WHERE job_id = $1 ORDER BY batch_index",
      [job!.id],
    );
    expect(tasks.map((t) => t.status)).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
    for (let i = 1; i < tasks.length; i++) expect(tasks[i].delivered_at >= tasks[i - 1].finished_at).toBe(true);
    expect((await jobsOf(broker, promotionId))[0]).toMatchObject({ status: "SUCCEEDED", current_batch: 2 });
    for (const x of [first!, second!, third!]) expect(liveData(x.kube, name)?.environment).toBeDefined();
  });

  it("halts a rolling job at the failure threshold: the job FAILED, later tasks SKIPPED, the promotion FAILED", async () => {
    const [failing, later, last] = await agents(3);
    // A refusal the agent does not retry at once: its apply fails and it reports FAILURE.
    failing!.kube.injectFault({ status: 403, times: 1000, match: { method: "PATCH", path: "/configmaps/" } });
    await Promise.all([failing, later, last].map((x) => x?.start()));
    const name = unique("cm");
    const members = [failing!.id, later!.id, last!.id];
    const { release, promotionId } = await promote({ name, members, strategy: "ROLLING", batchSize: 1, failureThreshold: 1 });
    await driveUntil(jobDone(promotionId), "the job to halt");
    const [job] = await jobsOf(broker, promotionId);
    expect(job).toMatchObject({ status: "FAILED", current_batch: 0 });
    expect(job?.message).toContain("failure threshold 1");
    expect((await tasksOf(broker, job!.id)).map((t) => [t.status, t.deployment_object_id === null])).toEqual([
      ["FAILED", false],
      ["SKIPPED", true],
      ["SKIPPED", true],
    ]);
    expect(liveData(later!.kube, name)).toBeUndefined();
    expect(await promotionStatus(broker, promotionId)).toBe("FAILED");
    expect((await q("SELECT status FROM releases WHERE id = $1", [release.id]))[0].status).toBe("READY");
    const events = await q("SELECT 1 FROM domain_events WHERE event_type = 'promotion.failed' AND data->>'promotionId' = $1", [
      promotionId,
    ]);
    expect(events).toHaveLength(1);
    const evidence = await completionPacket(broker, job!.id);
    expect(evidence.verdicts).toEqual([{ ok: true }]);
    expect(evidence.packets[0]?.content.results.map((r: { status: string }) => r.status)).toEqual([
      "FAILED",
      "SKIPPED",
      "SKIPPED",
    ]);
  });

  it("rolls back by re-delivering what each stack held before, and a first release by deleting it", async () => {
    const [agent] = await agents(1);
    await agent!.start();
    const name = unique("cm");
    const env = await createEnvironment(broker, { members: [agent!.id] });
    const r1 = await createRelease(broker, { name });
    const p1 = await approvedPromotion(broker, r1.id, env.id);
    await driveUntil(jobDone(p1), "release 1 deployed");
    const r2 = await createRelease(broker, { name, templateId: r1.templateId });
    const p2 = await approvedPromotion(broker, r2.id, env.id);
    await driveUntil(jobDone(p2), "release 2 deployed");
    expect(liveData(agent!.kube, name)?.image).toBe(r2.image);

    const ROLLBACK = `mutation($id: ID!) { rollbackPromotion(input: { promotionId: $id }) {
      promotion { id status } job { id status strategy rollbackOf { id } } } }`;
    const older = await broker.gql(ROLLBACK, { id: p1 });
    expect(errorCode(older)).toBe("CONFLICT");
    const data = ok(
      await broker.gql<{ rollbackPromotion: { job: { id: string; strategy: string; rollbackOf: { id: string } } } }>(ROLLBACK, {
        id: p2,
      }),
    );
    const [p2Job] = await jobsOf(broker, p2);
    expect(data.rollbackPromotion.job).toMatchObject({ strategy: "ALL_AT_ONCE", rollbackOf: { id: p2Job!.id } });
    expect(errorCode(await broker.gql(ROLLBACK, { id: p2 }))).toBe("CONFLICT");
    await driveUntil(async () => (await promotionStatus(broker, p2)) === "ROLLED_BACK", "the rollback");
    await waitUntil(
      () => liveData(agent!.kube, name)?.image === r1.image,
      () => "release 1 back in the cluster",
      60_000,
    );
    const [task] = await tasksOf(broker, data.rollbackPromotion.job.id);
    const [p2Task] = await tasksOf(broker, p2Job!.id);
    expect(task).toMatchObject({ status: "SUCCEEDED", previous_deployment_object_id: p2Task!.deployment_object_id });
    const evidence = await completionPacket(broker, data.rollbackPromotion.job.id);
    expect(evidence.verdicts).toEqual([{ ok: true }]);
    expect(evidence.packets[0]).toMatchObject({ packetType: "ROLLBACK_COMPLETED", content: { rollbackOf: p2Job!.id } });

    // The environment's first promotion had nothing before it: its rollback deletes what it applied.
    const [fresh] = await agents(1);
    await fresh!.start();
    const firstName = unique("cm");
    const { promotionId } = await promote({ name: firstName, members: [fresh!.id] });
    await driveUntil(jobDone(promotionId), "the first release deployed");
    expect(liveData(fresh!.kube, firstName)).toBeDefined();
    ok(await broker.gql(ROLLBACK, { id: promotionId }));
    await driveUntil(async () => (await promotionStatus(broker, promotionId)) === "ROLLED_BACK", "the rollback");
    await waitUntil(
      () => liveData(fresh!.kube, firstName) === undefined,
      () => "the release deleted",
      60_000,
    );
    const markers = await q(
      `SELECT o.is_deletion_marker FROM deployment_tasks t JOIN deployment_jobs j ON j.id = t.job_id
         JOIN deployment_objects o ON o.id = t.deployment_object_id WHERE j.promotion_id = $1 AND j.rollback_of IS NOT NULL`,
      [promotionId],
    );
    expect(markers).toEqual([{ is_deletion_marker: true }]);
  });
});
