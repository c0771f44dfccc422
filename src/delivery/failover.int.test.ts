import { beforeAll, describe, expect, it, vi } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { CONFIGMAP_YAML, createAgent, createGenerator, createObject, createStack, targetStack } from "../../test/factories.js";
import { watchDeployments } from "../../test/subscriptions.js";

// Broker `behind` shares the database with `ahead` but its commit feed lags: an agent that got
// its cursor from `ahead` fails over to it.
let ahead: TestBroker;
let behind: TestBroker;
beforeAll(async () => {
  ahead = await startTestBroker();
  behind = await startTestBroker({}, ahead.db);
});

describe("failing over to a broker that is behind the agent's cursor", () => {
  it("sends nothing at or below the cursor, then everything above it", async () => {
    const release = behind.app.delivery.simulateLag();
    try {
      const gen = await createGenerator(ahead);
      const agent = await createAgent(ahead, { activate: true });
      const stack = await createStack(ahead, gen.pak);
      await targetStack(ahead, agent.id, stack.id);
      await createObject(ahead, gen.pak, stack.id, CONFIGMAP_YAML("o1"));
      const o2 = await createObject(ahead, gen.pak, stack.id, CONFIGMAP_YAML("o2"));
      const first = watchDeployments(ahead.url, agent.pak);
      await first.until((e) => e.some((x) => x.deploymentObject?.id === o2.id));
      await first.stop();
      const o3 = await createObject(ahead, gen.pak, stack.id, CONFIGMAP_YAML("o3"));
      expect(behind.app.delivery.horizon < BigInt(o2.sequenceId)).toBe(true);
      const watch = watchDeployments(behind.url, agent.pak, o2.sequenceId);
      await vi.waitFor(() => expect(behind.app.delivery.subscriptionCount).toBe(1));
      release();
      const o4 = await createObject(ahead, gen.pak, stack.id, CONFIGMAP_YAML("o4"));
      await watch.until((e) => e.some((x) => x.deploymentObject?.id === o4.id));
      expect(watch.events.map((x) => x.deploymentObject?.id)).toEqual([o3.id, o4.id]);
      await watch.stop();
    } finally {
      release();
    }
  });

  it("sends the true latest object of a stack targeted meanwhile, not a stale one", async () => {
    const release = behind.app.delivery.simulateLag();
    try {
      const gen = await createGenerator(ahead);
      const agent = await createAgent(ahead, { activate: true });
      const sentinelStack = await createStack(ahead, gen.pak);
      await targetStack(ahead, agent.id, sentinelStack.id);
      const later = await createStack(ahead, gen.pak);
      await createObject(ahead, gen.pak, later.id, CONFIGMAP_YAML("t1"));
      const t2 = await createObject(ahead, gen.pak, later.id, CONFIGMAP_YAML("t2"));
      const cursor = await createObject(ahead, gen.pak, sentinelStack.id);
      const watch = watchDeployments(behind.url, agent.pak, cursor.sequenceId);
      await vi.waitFor(() => expect(behind.app.delivery.subscriptionCount).toBe(1));
      await targetStack(ahead, agent.id, later.id);
      await watch.until((e) => e.some((x) => x.stackId === later.id));
      release();
      const sentinel = await createObject(ahead, gen.pak, sentinelStack.id);
      await watch.until((e) => e.some((x) => x.deploymentObject?.id === sentinel.id));
      expect(watch.events.map((x) => x.deploymentObject?.id)).toEqual([t2.id, sentinel.id]);
      await watch.stop();
    } finally {
      release();
    }
  });
});
