import { afterAll, describe, expect, it } from "vitest";
import type { AgentRuntime } from "../../agent/app.js";
import { agentWorld } from "../../test/agent-world.js";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, unique } from "../../test/factories.js";
import { type FakeKube, startFakeKube } from "../../test/fake-kube/index.js";
import { approvedPromotion, createEnvironment, createRelease, jobsOf, tasksOf } from "../../test/rollouts.js";
import { waitUntil } from "../../test/subscriptions.js";
import { ROLLOUTS_TASK } from "./runner.js";

// Every broker's runner is driven by runNow only.
const QUIET = { BROKKR__ROLLOUTS__INTERVAL_MS: "600000" };
const world = await agentWorld(QUIET);
const { broker } = world;
const kubes: FakeKube[] = [];
const runtimes: AgentRuntime[] = [];
afterAll(async () => {
  for (const runtime of runtimes) await runtime.stop();
  for (const kube of kubes) await kube.stop();
});

/** Running agents named in batch order, each with a cluster of its own, connected to `broker`. */
async function runningAgents(count: number) {
  const prefix = unique("fa");
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const agent = await createAgent(broker, { name: `${prefix}-${i}`, activate: true });
    const kube = await startFakeKube();
    kubes.push(kube);
    runtimes.push(await world.launch(agent.pak, { KUBECONFIG_PATH: kube.kubeconfigPath }));
    ids.push(agent.id);
  }
  return ids;
}

const q = async (text: string, params: unknown[] = []) => (await broker.db.sql.query(text, params)).rows;
const otherBroker = () => startTestBroker(QUIET, broker.db);

async function rollingPromotion(members: string[]) {
  const env = await createEnvironment(broker, { members, strategy: "ROLLING", batchSize: 1 });
  const release = await createRelease(broker, { name: unique("cm") });
  return { env, promotionId: await approvedPromotion(broker, release.id, env.id) };
}

const finished = async (promotionId: string) => {
  const jobs = await jobsOf(broker, promotionId);
  return jobs.length === 1 && (jobs[0]?.status === "SUCCEEDED" || jobs[0]?.status === "FAILED");
};

const driveUntil = (brokers: TestBroker[], check: () => Promise<boolean>, what: string, between?: () => Promise<unknown>) =>
  waitUntil(
    async () => {
      await between?.();
      await Promise.all(brokers.map((b) => b.app.scheduler.runNow(ROLLOUTS_TASK)));
      return check();
    },
    () => `timed out waiting for ${what}`,
    90_000,
  );

/** Every task's object was created once: one object per environment stack, one per task. */
async function assertDeliveredOnce(environmentId: string, jobId: string, tasks: number) {
  const [objects] = await q(
    `SELECT count(*)::int AS objects, count(DISTINCT o.stack_id)::int AS stacks FROM deployment_objects o
       JOIN environment_agent_stacks s ON s.stack_id = o.stack_id WHERE s.environment_id = $1`,
    [environmentId],
  );
  expect(objects).toEqual({ objects: tasks, stacks: tasks });
  const delivered = await tasksOf(broker, jobId);
  expect(new Set(delivered.map((t) => t.deployment_object_id)).size).toBe(tasks);
  expect(delivered.every((t) => t.status === "SUCCEEDED")).toBe(true);
}

const successReported = (jobId: string, batch: number) => async () =>
  (
    await q(
      `SELECT 1 FROM deployment_tasks t JOIN agent_events e ON e.deployment_object_id = t.deployment_object_id
        WHERE t.job_id = $1 AND t.batch_index = $2 AND e.status = 'SUCCESS'`,
      [jobId, batch],
    )
  ).length > 0;

// A ceiling, not a measure: several agents and brokers share two loaded cores here.
describe("rollout faults", { timeout: 120_000 }, () => {
  it("resumes a rolling job from the database when its broker stops and another starts", async () => {
    const members = await runningAgents(2);
    const { env, promotionId } = await rollingPromotion(members);
    const first = await otherBroker();
    await first.app.scheduler.runNow(ROLLOUTS_TASK);
    const [job] = await jobsOf(broker, promotionId);
    expect((await tasksOf(broker, job!.id)).map((t) => t.status)).toEqual(["DELIVERED", "PENDING"]);
    await waitUntil(successReported(job!.id, 0), () => "batch 0 applied", 60_000);
    await first.stop();
    expect((await q("SELECT lease_owner FROM deployment_jobs WHERE id = $1", [job!.id]))[0].lease_owner).toBeNull();
    const second = await otherBroker();
    await driveUntil([second], () => finished(promotionId), "the resumed job to finish");
    expect((await jobsOf(broker, promotionId))[0]).toMatchObject({ status: "SUCCEEDED", current_batch: 1 });
    await assertDeliveredOnce(env.id, job!.id, 2);
  });

  it("leaves a job alone while a crashed broker's lease lasts, and takes it over once the lease expired", async () => {
    const members = await runningAgents(2);
    const { env, promotionId } = await rollingPromotion(members);
    await broker.app.scheduler.runNow(ROLLOUTS_TASK);
    const [job] = await jobsOf(broker, promotionId);
    // As a broker that died holding the lease leaves it.
    await q(
      "UPDATE deployment_jobs SET lease_owner = 'broker-gone', lease_expires_at = now() + interval '1 hour' WHERE id = $1",
      [job!.id],
    );
    await waitUntil(successReported(job!.id, 0), () => "batch 0 applied", 60_000);
    const survivor = await otherBroker();
    await survivor.app.scheduler.runNow(ROLLOUTS_TASK);
    await broker.app.scheduler.runNow(ROLLOUTS_TASK);
    expect((await tasksOf(broker, job!.id)).map((t) => t.status)).toEqual(["DELIVERED", "PENDING"]);
    await q("UPDATE deployment_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1", [job!.id]);
    await driveUntil([survivor], () => finished(promotionId), "the taken-over job to finish");
    expect((await jobsOf(broker, promotionId))[0]?.status).toBe("SUCCEEDED");
    await assertDeliveredOnce(env.id, job!.id, 2);
  });

  it("never delivers a task twice with two brokers running one job, even as the lease changes hands each round", async () => {
    const members = await runningAgents(4);
    const { env, promotionId } = await rollingPromotion(members);
    const other = await otherBroker();
    const expire = () =>
      q("UPDATE deployment_jobs SET lease_expires_at = now() - interval '1 second' WHERE promotion_id = $1", [promotionId]);
    await driveUntil([broker, other], () => finished(promotionId), "the job to finish", expire);
    const jobs = await jobsOf(broker, promotionId);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.status).toBe("SUCCEEDED");
    await assertDeliveredOnce(env.id, jobs[0]!.id, 4);
  });

  it("starts one job for an approved promotion however many brokers see it at once", async () => {
    const members = await runningAgents(1);
    const { promotionId } = await rollingPromotion(members);
    const brokers = [broker, await otherBroker(), await otherBroker()];
    await Promise.all(brokers.map((b) => b.app.scheduler.runNow(ROLLOUTS_TASK)));
    expect(await jobsOf(broker, promotionId)).toHaveLength(1);
    const [promotion] = await q("SELECT status, decision_record FROM promotions WHERE id = $1", [promotionId]);
    expect(promotion.status).toBe("DEPLOYING");
    expect(promotion.decision_record.filter((g: { name: string }) => g.name === "NO_ACTIVE_FREEZE")).toHaveLength(1);
  });
});
