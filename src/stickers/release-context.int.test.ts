import { beforeAll, describe, expect, it } from "vitest";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { countBrokerStatements } from "../../test/count-statements.js";
import { CONFIGMAP_YAML, createAgent, createGenerator, createObject, targetStack, unique } from "../../test/factories.js";
import { DIGEST, deliverTask, insertReleaseTask, releaseFixture } from "../../test/stickers.js";
import { nextOpened, waitUntil, wsClient } from "../../test/subscriptions.js";
import { AgentDeploymentsDocument } from "../../agent/generated/operations.js";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({ BROKKR__STICKERS__NAMESPACE: "release-stickers" });
});

const CONTEXT = `releaseContext { taskId releaseId releaseName promotionId environmentId environmentName
  digests { component image tag digest semver } stickerNamespace driftPolicy }`;

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
    // The fewest of three runs: a background task (webhook delivery, clean-ups) may share the window.
    const fewest = async (withContext: boolean) => {
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push(await countBrokerStatements(() => query(withContext)));
      return runs.reduce((a, b) => (b.statements < a.statements ? b : a));
    };
    const without = await fewest(false);
    const withContexts = await fewest(true);
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
