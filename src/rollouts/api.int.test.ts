import { createHash } from "node:crypto";
import { execute, parse } from "graphql";
import { describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, unique } from "../../test/factories.js";
import {
  approvedPromotion,
  createEnvironment,
  createRelease,
  jobsOf,
  promotionStatus,
  reportTasks,
  tasksOf,
} from "../../test/rollouts.js";
import { createUser } from "../../test/users.js";
import type { GraphQLContext } from "../graphql/context.js";
import { createLoaders } from "../graphql/loaders.js";
import { buildSchema } from "../graphql/schema.js";
import { ROLLOUTS_TASK } from "./runner.js";

const broker = await startTestBroker({ BROKKR__ROLLOUTS__INTERVAL_MS: "600000" });
const run = () => broker.app.scheduler.runNow(ROLLOUTS_TASK);
const q = async (text: string, params: unknown[] = []) => (await broker.db.sql.query(text, params)).rows;

const RENDER = `mutation($r: ID!, $e: ID!) { renderRelease(input: { releaseId: $r, environmentId: $e }) { yamlContent checksum } }`;
const ROLLBACK = `mutation($id: ID!) { rollbackPromotion(input: { promotionId: $id }) {
  promotion { id status job { id rollbackOf { id } } jobs { id } }
  job { id status strategy batchCount currentBatch rollbackOf { id status strategy batchCount currentBatch failureThreshold
          renderedChecksum tasks { batchIndex status health agent { id } deploymentObject { id isDeletionMarker } } }
        tasks { batchIndex status health agent { id } deploymentObject { id } deliveredAt } } } }`;

/** A promotion the runner deployed to `count` agents (their outcomes reported by SQL, no agents run). */
async function deployed(count: number, opts: { strategy?: "ROLLING"; batchSize?: number } = {}) {
  const agents = await Promise.all(Array.from({ length: count }, () => createAgent(broker, { activate: true })));
  const env = await createEnvironment(broker, { members: agents.map((a) => a.id), ...opts });
  const release = await createRelease(broker, { name: unique("cm") });
  const promotionId = await approvedPromotion(broker, release.id, env.id);
  for (let i = 0; i < count + 1 && (await promotionStatus(broker, promotionId)) !== "DEPLOYED"; i++) {
    await run();
    const [job] = await jobsOf(broker, promotionId);
    await reportTasks(broker, job!.id);
  }
  return { agents, env, release, promotionId, job: (await jobsOf(broker, promotionId))[0]! };
}

describe("renderRelease", () => {
  it("renders the release's template with its digests and the environment's name and configuration", async () => {
    const release = await createRelease(broker, { name: "web-config", parameters: { environment: "overridden" } });
    const env = await createEnvironment(broker, { members: [], config: { color: "green" } });
    const data = ok(
      await broker.gql<{ renderRelease: { yamlContent: string; checksum: string } }>(RENDER, { r: release.id, e: env.id }),
    );
    const { yamlContent, checksum } = data.renderRelease;
    expect(yamlContent).toContain(`image: "${release.image}"`);
    expect(yamlContent).toContain(`semver: "${release.semver}"`);
    expect(yamlContent).toContain(`environment: "${env.name}"`);
    expect(yamlContent).toContain(`color: "green"`);
    expect(checksum).toBe(createHash("sha256").update(yamlContent).digest("hex"));
    // It writes nothing.
    expect(await q("SELECT 1 FROM deployment_jobs WHERE release_id = $1", [release.id])).toHaveLength(0);
  });

  it("lets generators render, refuses agents and read-only users, and names a missing release or environment", async () => {
    const release = await createRelease(broker, { name: "web" });
    const env = await createEnvironment(broker, { members: [] });
    const vars = { r: release.id, e: env.id };
    ok(await broker.gql(RENDER, vars, (await createGenerator(broker)).pak));
    expect(errorCode(await broker.gql(RENDER, vars, (await createAgent(broker, { activate: true })).pak))).toBe("FORBIDDEN");
    expect(errorCode(await broker.gql(RENDER, vars, (await createUser(broker, "VIEWER")).pak))).toBe("FORBIDDEN");
    expect(errorCode(await broker.gql(RENDER, vars, (await createUser(broker, "APPROVER")).pak))).toBe("FORBIDDEN");
    expect(errorCode(await broker.gql(RENDER, vars, null))).toBe("UNAUTHENTICATED");
    ok(await broker.gql(RENDER, vars, (await createUser(broker, "ADMIN")).pak));
    const missing = "00000000-0000-4000-8000-000000000000";
    expect(errorCode(await broker.gql(RENDER, { r: missing, e: env.id }))).toBe("NOT_FOUND");
    expect(errorCode(await broker.gql(RENDER, { r: release.id, e: missing }))).toBe("NOT_FOUND");
    expect(errorCode(await broker.gql(RENDER, { r: "not-an-id", e: env.id }))).toBe("BAD_USER_INPUT");
    await q("UPDATE environments SET deleted_at = now() WHERE id = $1", [env.id]);
    expect(errorCode(await broker.gql(RENDER, vars))).toBe("NOT_FOUND");
  });
});

describe("rollbackPromotion and the job fields", () => {
  it("answers with the rollback job, its tasks and the job it rolls back, and health from the agents' reports", async () => {
    const { agents, promotionId, job } = await deployed(2, { strategy: "ROLLING", batchSize: 1 });
    const tasks = await tasksOf(broker, job.id);
    await q(
      "INSERT INTO deployment_health (agent_id, deployment_object_id, status, checked_at) VALUES ($1, $2, 'healthy', now())",
      [tasks[0]!.agent_id, tasks[0]!.deployment_object_id],
    );
    const data = ok(await broker.gql<{ rollbackPromotion: any }>(ROLLBACK, { id: promotionId }));
    const { promotion, job: rollback } = data.rollbackPromotion;
    expect(promotion).toMatchObject({
      id: promotionId,
      status: "DEPLOYED",
      job: { id: rollback.id, rollbackOf: { id: job.id } },
    });
    expect(promotion.jobs.map((j: { id: string }) => j.id)).toEqual([rollback.id, job.id]);
    expect(rollback).toMatchObject({ status: "PENDING", strategy: "ALL_AT_ONCE", batchCount: 1, currentBatch: 0 });
    expect(rollback.tasks.map((t: any) => [t.batchIndex, t.status, t.deploymentObject, t.health])).toEqual([
      [0, "PENDING", null, null],
      [0, "PENDING", null, null],
    ]);
    const original = rollback.rollbackOf;
    expect(original).toMatchObject({
      status: "SUCCEEDED",
      strategy: "ROLLING",
      batchCount: 2,
      currentBatch: 1,
      failureThreshold: 1,
    });
    expect(original.renderedChecksum).toMatch(/^[0-9a-f]{64}$/);
    expect(original.tasks.map((t: any) => [t.agent.id, t.batchIndex, t.status, t.health])).toEqual([
      [tasks[0]!.agent_id, 0, "SUCCEEDED", "healthy"],
      [tasks[1]!.agent_id, 1, "SUCCEEDED", null],
    ]);
    expect(original.tasks.map((t: any) => t.agent.id).sort()).toEqual(agents.map((a) => a.id).sort());
    await run();
    await reportTasks(broker, rollback.id);
    await run();
    expect(await promotionStatus(broker, promotionId)).toBe("ROLLED_BACK");
    const events = await q(
      "SELECT 1 FROM domain_events WHERE event_type = 'promotion.rolled_back' AND data->>'promotionId' = $1",
      [promotionId],
    );
    expect(events).toHaveLength(1);
  });

  it("is for the admin and ADMIN users only, and only for a DEPLOYED or FAILED promotion", async () => {
    const { promotionId } = await deployed(1);
    for (const pak of [
      (await createGenerator(broker)).pak,
      (await createAgent(broker, { activate: true })).pak,
      (await createUser(broker, "VIEWER")).pak,
      (await createUser(broker, "APPROVER")).pak,
    ])
      expect(errorCode(await broker.gql(ROLLBACK, { id: promotionId }, pak))).toBe("FORBIDDEN");
    expect(errorCode(await broker.gql(ROLLBACK, { id: "00000000-0000-4000-8000-000000000000" }))).toBe("NOT_FOUND");
    expect(errorCode(await broker.gql(ROLLBACK, { id: "nope" }))).toBe("BAD_USER_INPUT");
    const env = await createEnvironment(broker, { members: [] });
    const approved = await approvedPromotion(broker, (await createRelease(broker, { name: "a" })).id, env.id);
    expect(errorCode(await broker.gql(ROLLBACK, { id: approved }))).toBe("CONFLICT");
    ok(await broker.gql(ROLLBACK, { id: promotionId }, (await createUser(broker, "ADMIN")).pak));
  });

  it("refuses the job fields to agents", async () => {
    const { promotionId } = await deployed(1);
    const agent = await createAgent(broker, { activate: true });
    // Query.promotion is the promotions domain's: a stand-in parent here, so only Promotion.job/jobs are under test.
    const schema = buildSchema([{ Query: { promotion: (_: unknown, args: { id: string }) => ({ id: args.id }) } } as never]);
    const db = broker.app.database.prisma;
    const contextOf = (identity: GraphQLContext["identity"]) => ({ identity, db, loaders: createLoaders(db) }) as GraphQLContext;
    const document = parse(`query($id: ID!) { promotion(id: $id) { job { id } jobs { id } } }`);
    const asAgent = await execute({
      schema,
      document,
      variableValues: { id: promotionId },
      contextValue: contextOf({ role: "AGENT", id: agent.id }),
    });
    expect(asAgent.errors?.map((e) => (e.originalError as { code?: string } | undefined)?.code)).toEqual([
      "FORBIDDEN",
      "FORBIDDEN",
    ]);
    const generator = await createGenerator(broker);
    const asGenerator = await execute({
      schema,
      document,
      variableValues: { id: promotionId },
      contextValue: contextOf({ role: "GENERATOR", id: generator.id }),
    });
    expect(asGenerator.errors).toBeUndefined();
    expect(asGenerator.data?.promotion).toMatchObject({ jobs: [{ id: expect.any(String) }] });
  });
});
