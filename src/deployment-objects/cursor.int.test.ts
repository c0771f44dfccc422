import { beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, createObject, createStack, targetStack } from "../../test/factories.js";
import { watchDeployments } from "../../test/subscriptions.js";

let broker: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker();
});

type Refusal = { error: { message: string; extensions?: { code?: string } }[] };

describe("agentDeployments cursors", () => {
  it("refuses a cursor ahead of the newest object without revealing the newest sequence id", async () => {
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker, { activate: true });
    const stack = await createStack(broker, gen.pak);
    await targetStack(broker, agent.id, stack.id);
    const newest = (await createObject(broker, gen.pak, stack.id)).sequenceId;
    const watch = watchDeployments(broker.url, agent.pak, String(BigInt(newest) + 1000n));
    const refused = (await watch.closed) as Refusal;
    await watch.stop();
    expect(refused.error[0]!.extensions!.code).toBe("BAD_USER_INPUT");
    expect(JSON.stringify(refused)).not.toContain(newest);
  });

  it("refuses a cursor above the 64-bit range as bad input", async () => {
    const agent = await createAgent(broker, { activate: true });
    const watch = watchDeployments(broker.url, agent.pak, "9223372036854775808");
    const refused = (await watch.closed) as Refusal;
    await watch.stop();
    expect(JSON.stringify(refused)).toMatch(/BAD_USER_INPUT|BigInt/);
    expect(JSON.stringify(refused)).not.toMatch(/INTERNAL_SERVER_ERROR/);
  });
});
