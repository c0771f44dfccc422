import { describe, expect, it, onTestFailed } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { CONFIGMAP_YAML, createAgent, createGenerator, createObject, createStack, targetStack } from "../../test/factories.js";
import { startFaultPostgres } from "../../test/fault-postgres.js";
import { watchDeployments, type Watch } from "../../test/subscriptions.js";

/** Writes objects round-robin through the brokers until stopped; remembers what was acknowledged. */
function writer(brokers: TestBroker[], pak: string, stackId: string) {
  const acked: { id: string; sequenceId: string }[] = [];
  let failures = 0;
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i++) {
      try {
        acked.push(await createObject(brokers[i % brokers.length]!, pak, stackId, CONFIGMAP_YAML(`w-${i}`)));
      } catch {
        failures++;
        await new Promise((r) => setTimeout(r, 50)); // back off while the database is away
      }
    }
  })();
  return { acked, failures: () => failures, stop: async () => ((running = false), await done) };
}

describe("PostgreSQL killed during writes", () => {
  it("keeps both brokers alive, recovers, and loses no acknowledged object for any subscribed agent", async () => {
    // Where the test was when it failed (a timeout names no step of its own), with each step's time.
    const t0 = Date.now();
    const steps: string[] = [];
    const step = (name: string) => steps.push(`${name} at ${Date.now() - t0} ms`);
    onTestFailed(() => console.error(`kill test steps: ${steps.join("; ")}`));
    const pg = await startFaultPostgres();
    step("postgres started");
    const env = { BROKKR__DATABASE__CONNECT_TIMEOUT_MS: "1000", BROKKR__DATABASE__POOL_SIZE: "4" };
    const brokers = [await startTestBroker(env, pg.db), await startTestBroker(env, pg.db)];
    const gen = await createGenerator(brokers[0]!);
    const stack = await createStack(brokers[0]!, gen.pak);
    const watches: Watch[] = [];
    for (let i = 0; i < 4; i++) {
      const agent = await createAgent(brokers[0]!, { activate: true });
      await targetStack(brokers[0]!, agent.id, stack.id);
      watches.push(watchDeployments(brokers[i % 2]!.url, agent.pak));
    }
    step("agents watching");
    const first = await createObject(brokers[0]!, gen.pak, stack.id);
    for (const w of watches) await w.until((e) => e.some((x) => x.deploymentObject?.id === first.id));

    step("first object delivered");
    const load = writer(brokers, gen.pak, stack.id);
    await expect.poll(() => load.acked.length, { timeout: 20_000 }).toBeGreaterThan(5);
    step("writes acknowledged");
    await pg.kill();
    step("postgres killed");
    await expect.poll(() => load.failures(), { timeout: 20_000 }).toBeGreaterThan(3);
    await expect.poll(() => brokers.every((b) => !b.app.listener.connected), { timeout: 20_000 }).toBe(true);
    step("listeners lost");
    await pg.start();
    step("postgres restarted");
    const before = load.acked.length;
    await expect.poll(() => load.acked.length, { timeout: 30_000, interval: 100 }).toBeGreaterThan(before + 5);
    step("writes acknowledged again");
    await load.stop();
    step("writer stopped");

    const acked = [first, ...load.acked];
    for (const w of watches) {
      await w.until((e) => acked.every((o) => e.some((x) => x.deploymentObject?.id === o.id)), 30_000);
      const seqs = w.events.map((x) => BigInt(x.deploymentObject!.sequenceId));
      expect(new Set(seqs).size).toBe(seqs.length); // none twice
      expect([...seqs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(seqs); // in order
    }
    step("every acknowledged object delivered");
    for (const b of brokers) {
      await expect.poll(async () => (await fetch(`${b.url}/readyz`)).status, { timeout: 20_000, interval: 200 }).toBe(200);
      const metrics = await (await fetch(`${b.url}/metrics`)).text();
      expect(metrics).toMatch(/brokkr_recovered_errors_total\{source="listener"\} [1-9]/);
    }
    for (const w of watches) await w.stop();
  }, 240_000);
});
