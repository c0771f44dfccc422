import { beforeAll, describe, expect, it, vi } from "vitest";
import { captureCli } from "../../../test/cli.js";
import { ok, startTestBroker, type TestBroker } from "../../../test/broker.js";
import { createAgent, createGenerator, createObject, createStack, targetStack, unique } from "../../../test/factories.js";
import { nextOpened } from "../../../test/subscriptions.js";
import { BrokerClient } from "./client.js";
import { resolveTarget, waitForRollout } from "./wait.js";

let broker: TestBroker;
let gen: { id: string; pak: string };

beforeAll(async () => {
  broker = await startTestBroker();
  gen = await createGenerator(broker);
  vi.stubEnv("BROKKR_CLI_CONFIG", "/nonexistent/brokkr-cli.json");
  vi.stubEnv("BROKKR_URL", broker.url);
  vi.stubEnv("BROKKR_PAK", broker.adminPak);
});

const cli = captureCli;

/** Starts `brokkr …` and resolves, with its run, once its event subscription is open on the broker. */
async function started(...args: string[]) {
  const subscribed = nextOpened(broker, "agentEventsAdded:*");
  const run = cli(...args);
  await subscribed;
  return { run };
}

async function report(agent: { pak: string }, objectId: string, status: "SUCCESS" | "FAILURE", message?: string) {
  ok(
    await broker.gql(
      `mutation($o: ID!, $s: AgentEventStatus!, $m: String) { reportAgentEvent(input: { deploymentObjectId: $o, status: $s, message: $m }) { event { id } } }`,
      { o: objectId, s: status, m: message ?? null },
      agent.pak,
    ),
  );
}

/** A stack targeted at two active agents (one labelled `wait-only`) and an inactive one, with an object. */
async function rollout() {
  const stack = await createStack(broker, gen.pak, { name: unique("wait-stack") });
  const a = await createAgent(broker, { activate: true, clusterName: unique("east"), labels: ["wait-only"] });
  const b = await createAgent(broker, { activate: true, clusterName: unique("west") });
  const inactive = await createAgent(broker, { clusterName: unique("off") });
  for (const agent of [a, b, inactive]) await targetStack(broker, agent.id, stack.id);
  const object = await createObject(broker, gen.pak, stack.id);
  return { stack, a, b, inactive, object };
}

describe("brokkr wait", () => {
  it("exits 0 once every receiving agent reported SUCCESS for the object or a newer one", async () => {
    const { stack, a, b, object } = await rollout();
    const { run } = await started("--json", "wait", object.id, "--timeout", "60");
    await report(a, object.id, "SUCCESS");
    await report(b, (await createObject(broker, gen.pak, stack.id, "kind: ConfigMap\n")).id, "SUCCESS");
    const result = await run;
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout);
    expect(body).toMatchObject({ ok: true, timedOut: false, object: { id: object.id, stackId: stack.id } });
    expect(body.agents.map((x: { agentId: string; result: string }) => [x.agentId, x.result]).sort()).toEqual(
      [
        [a.id, "SUCCESS"],
        [b.id, "SUCCESS"],
      ].sort(),
    );
  });

  it("exits 3 with a table naming the cluster that FAILED and its message", async () => {
    const { a, b, object } = await rollout();
    const { run } = await started("wait", object.id, "--fail-fast");
    await report(a, object.id, "SUCCESS");
    await report(b, object.id, "FAILURE", "admission webhook denied the ConfigMap");
    const result = await run;
    expect(result.code).toBe(3);
    const line = result.stdout.split("\n").find((l) => l.includes(b.name)) ?? "";
    expect(line).toContain("FAILED");
    expect(line).toContain("admission webhook denied the ConfigMap");
    expect(result.stdout.split("\n").find((l) => l.includes(a.name))).toContain("SUCCESS");
    expect(result.stderr).toMatch(/1 failed, 0 did not answer/);
  });

  it("lists the agent that did not answer by the timeout, counting what was reported before it started", async () => {
    const { a, b, object } = await rollout();
    await report(a, object.id, "SUCCESS");
    const result = await cli("--json", "wait", object.id, "--timeout", "1");
    expect(result.code).toBe(3);
    const body = JSON.parse(result.stdout);
    expect(body).toMatchObject({ ok: false, timedOut: true });
    expect(body.agents).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ agentId: a.id, result: "SUCCESS" }),
        expect.objectContaining({ agentId: b.id, result: "NO ANSWER", sequenceId: null }),
      ]),
    );
    expect(result.stderr).toMatch(/0 failed, 1 did not answer/);
  });

  it("waits only for agents with the --agents label, naming the stack instead of an object", async () => {
    const { stack, a, object } = await rollout();
    const { run } = await started("--json", "wait", stack.name, "--agents", "wait-only", "--timeout", "60");
    await report(a, object.id, "SUCCESS");
    const result = await run;
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).agents).toEqual([expect.objectContaining({ agentId: a.id, result: "SUCCESS" })]);
  });

  it("counts a report committed between subscribing and the first read, reading once", async () => {
    const { a, b, object } = await rollout();
    const client = new BrokerClient({ url: broker.url, pak: broker.adminPak });
    const result = await waitForRollout(client, await resolveTarget(client, object.id), {
      timeoutMs: 60_000,
      resyncMs: 60_000,
      afterSubscribed: async () => {
        await report(a, object.id, "SUCCESS");
        await report(b, object.id, "SUCCESS");
      },
    });
    expect(result.ok).toBe(true);
    expect(result.reads).toBe(1);
  });

  it("works with the stack's generator PAK", async () => {
    const { a, b, object } = await rollout();
    const strangerStack = await createStack(broker, gen.pak, { name: unique("other") });
    await targetStack(broker, a.id, strangerStack.id);
    const stray = await createObject(broker, gen.pak, strangerStack.id);
    vi.stubEnv("BROKKR_PAK", gen.pak);
    try {
      const { run } = await started("--json", "wait", object.id, "--timeout", "60");
      await report(a, stray.id, "SUCCESS");
      await report(a, object.id, "SUCCESS");
      await report(b, object.id, "SUCCESS");
      expect((await run).code).toBe(0);
    } finally {
      vi.stubEnv("BROKKR_PAK", broker.adminPak);
    }
  });

  it("streams to a generator only the events of the stack it names", async () => {
    const { stack, a, object } = await rollout();
    const elsewhere = await createStack(broker, gen.pak, { name: unique("elsewhere") });
    await targetStack(broker, a.id, elsewhere.id);
    const stray = await createObject(broker, gen.pak, elsewhere.id);
    const client = new BrokerClient({ url: broker.url, pak: gen.pak });
    const seen: string[] = [];
    const subscribed = nextOpened(broker, "agentEventsAdded:*");
    const sub = client.subscribe<{ agentEventsAdded: { deploymentObject: { id: string } } }>(
      "subscription($s: ID) { agentEventsAdded(stackId: $s) { deploymentObject { id } } }",
      { s: stack.id },
      (d) => {
        seen.push(d.agentEventsAdded.deploymentObject.id);
        return true;
      },
    );
    await subscribed;
    await report(a, stray.id, "SUCCESS");
    await report(a, object.id, "SUCCESS");
    await sub.done;
    expect(seen).toEqual([object.id]);
  });

  it("refuses a generator's event subscription without its own stack", async () => {
    const other = await createGenerator(broker);
    const foreign = await createStack(broker, other.pak);
    const client = new BrokerClient({ url: broker.url, pak: gen.pak });
    const query = "subscription($s: ID) { agentEventsAdded(stackId: $s) { id } }";
    await expect(client.subscribe(query, {}, () => true).done).rejects.toThrow(/stackId/);
    await expect(client.subscribe(query, { s: foreign.id }, () => true).done).rejects.toThrow(/subscription refused/);
  });

  it("says so when the reference is neither an object nor a stack", async () => {
    const result = await cli("wait", crypto.randomUUID());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no such deployment object or stack/);
  });
});

describe("brokkr fleet", () => {
  it("lists each agent's connection, pending objects and last event, as a table and as JSON", async () => {
    const { a, object } = await rollout();
    await report(a, object.id, "FAILURE", "boom");
    const rows = await cli("--json", "fleet", "--label", "wait-only");
    const mine = JSON.parse(rows.stdout).find((n: { agent: { id: string } }) => n.agent.id === a.id);
    expect(mine).toMatchObject({ connection: "OFFLINE", pendingObjects: 0, lastEvent: { status: "FAILURE" } });
    const table = await cli("fleet", "--label", "wait-only");
    expect(table.code).toBe(0);
    const line = table.stdout.split("\n").find((l) => l.includes(a.name)) ?? "";
    expect(line).toContain("OFFLINE");
    expect(line).toContain(`FAILURE #${object.sequenceId}`);
  });

  it("is refused for a generator with the broker's FORBIDDEN", async () => {
    vi.stubEnv("BROKKR_PAK", gen.pak);
    const result = await cli("fleet");
    vi.stubEnv("BROKKR_PAK", broker.adminPak);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/FORBIDDEN/);
  });
});
