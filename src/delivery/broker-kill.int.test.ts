import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { CONFIGMAP_YAML, createAgent, createGenerator, createObject, createStack, targetStack } from "../../test/factories.js";
import { type DeploymentEvent, waitUntil, watchDeployments } from "../../test/subscriptions.js";

// Broker A is a child process so that it can be killed hard (SIGKILL: no shutdown, no close
// frames, no flush); broker B runs in this process on the same database and takes the writes.
let b: TestBroker;
let a: ChildProcess;
let aUrl: string;
beforeAll(async () => {
  b = await startTestBroker();
  a = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: {
      ...process.env,
      BROKKR__DATABASE__URL: b.db.url,
      BROKKR__DATABASE__MIGRATE: "false",
      BROKKR__BROKER__PORT: "0",
      BROKKR__BROKER__HOST: "127.0.0.1",
      BROKKR__LOG__LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  a.stdout?.on("data", (d) => (out += String(d)));
  await waitUntil(
    () => /ready: (http:\/\/[^/\s]+)/.test(out),
    () => `broker A did not start: ${out}`,
    60_000,
  );
  aUrl = /ready: (http:\/\/[^/\s]+)/.exec(out)?.[1] ?? "";
}, 90_000);
afterAll(() => void a.kill("SIGKILL"));

const seq = (e: DeploymentEvent) => BigInt(e.deploymentObject?.sequenceId ?? "-1");

/** Creates objects round-robin over the stacks through broker B until stopped. */
function writer(pak: string, stackIds: string[]) {
  const acked: { stackId: string; id: string; sequenceId: string }[] = [];
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i++) {
      const stackId = stackIds[i % stackIds.length] ?? "";
      acked.push({ stackId, ...(await createObject(b, pak, stackId, CONFIGMAP_YAML(`w-${i}`))) });
    }
  })();
  return { acked, stop: async () => ((running = false), await done) };
}

/** Per stack, the objects of one session are consecutive among that stack's acknowledged objects. */
function expectNoGaps(session: DeploymentEvent[], acked: { stackId: string; id: string }[]) {
  for (const stackId of new Set(session.map((e) => e.stackId))) {
    const got = session.filter((e) => e.stackId === stackId).map((e) => e.deploymentObject?.id);
    const all = acked.filter((o) => o.stackId === stackId).map((o) => o.id);
    const from = all.indexOf(got[0] ?? "");
    expect(got).toEqual(all.slice(from, from + got.length));
  }
}

describe("a broker killed under a subscribed agent", () => {
  it("lets the agent resume on another broker from its cursor with nothing lost and nothing twice", async () => {
    const gen = await createGenerator(b);
    const agent = await createAgent(b, { activate: true });
    const stacks = [await createStack(b, gen.pak), await createStack(b, gen.pak), await createStack(b, gen.pak)];
    // A stack written once, before the cursor: a resumed stream that ignored the cursor resends it.
    const quiet = await createStack(b, gen.pak);
    for (const s of [quiet, ...stacks]) await targetStack(b, agent.id, s.id);
    const seeds: { stackId: string; id: string; sequenceId: string }[] = [];
    for (const s of [quiet, ...stacks])
      seeds.push({ stackId: s.id, ...(await createObject(b, gen.pak, s.id, CONFIGMAP_YAML("seed"))) });
    const onA = watchDeployments(aUrl, agent.pak);
    await onA.until((e) => seeds.every((o) => e.some((x) => x.deploymentObject?.id === o.id)), 30_000);

    const load = writer(
      gen.pak,
      stacks.map((s) => s.id),
    );
    await onA.until((e) => e.length >= seeds.length + 10, 30_000);
    a.kill("SIGKILL");
    expect(await onA.closed).toMatchObject({ code: expect.any(Number) });
    const first = [...onA.events];
    const cursor = first.reduce((m, e) => (seq(e) > m ? seq(e) : m), 0n);
    const whileAway = load.acked.length;
    await waitUntil(
      () => load.acked.length > whileAway + 5,
      () => "no writes while the agent was away",
    );

    const onB = watchDeployments(b.url, agent.pak, String(cursor));
    await onB.until((e) => e.length >= 3);
    await load.stop();
    const acked = [...seeds, ...load.acked];
    const latest = new Map(acked.map((o) => [o.stackId, o.id]));
    await onB.until((e) => stacks.every((s) => e.some((x) => x.deploymentObject?.id === latest.get(s.id))), 30_000);
    const second = [...onB.events];
    await onB.stop();

    // Nothing at or below the cursor again, nothing twice, every session in order and without gaps.
    expect(second.filter((e) => seq(e) <= cursor)).toEqual([]);
    const all = [...first, ...second].map(seq);
    expect(new Set(all).size).toBe(all.length);
    for (const session of [first, second]) expectNoGaps(session, acked);
    // Nothing lost: every acknowledged object at or below the cursor reached the agent from A,
    // and above it each stack's objects from the first the resumed stream sent on arrived.
    const got = new Set([...first, ...second].map((e) => e.deploymentObject?.id));
    expect(acked.filter((o) => BigInt(o.sequenceId) <= cursor && !got.has(o.id))).toEqual([]);
    for (const s of stacks) expect(got.has(latest.get(s.id))).toBe(true);
  }, 120_000);
});
