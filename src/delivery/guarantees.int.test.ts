import { spawn } from "node:child_process";
import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { CONFIGMAP_YAML, createAgent, createGenerator, createObject, createStack, targetStack } from "../../test/factories.js";
import { watchDeployments, type DeploymentEvent } from "../../test/subscriptions.js";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Per stack: sequence ids strictly increase (no duplicates, no reordering) on one subscription. */
function assertOrderedWithoutDuplicates(events: DeploymentEvent[]) {
  const last = new Map<string, bigint>();
  for (const e of events) {
    if (e.type !== "DEPLOY") continue;
    const seq = BigInt(e.deploymentObject!.sequenceId);
    const prev = last.get(e.stackId);
    if (prev !== undefined) expect(seq > prev, `stack ${e.stackId}: ${seq} after ${prev}`).toBe(true);
    last.set(e.stackId, seq);
  }
}

describe("delivery guarantees", () => {
  it("does not lose an object whose transaction took a lower sequence id but committed last", async () => {
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker, { activate: true });
    const slow = await createStack(broker, gen.pak);
    const fast = await createStack(broker, gen.pak);
    await targetStack(broker, agent.id, slow.id);
    await targetStack(broker, agent.id, fast.id);
    const watch = watchDeployments(broker.url, agent.pak);
    await sleep(200);
    const held = new pg.Client({ connectionString: broker.db.url });
    await held.connect();
    await held.query("BEGIN");
    const low = await held.query(
      `INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum)
       VALUES ($1, $2, 'a: 1', encode(sha256('a: 1'), 'hex')) RETURNING sequence_id`, [slow.id, gen.id]);
    const high = await createObject(broker, gen.pak, fast.id); // takes a higher id, commits first
    expect(BigInt(high.sequenceId)).toBeGreaterThan(BigInt(low.rows[0].sequence_id));
    await sleep(300);
    await held.query("COMMIT");
    await held.end();
    await watch.until((e) => e.length === 2);
    const seqs = watch.events.map((e) => e.deploymentObject!.sequenceId).sort();
    expect(seqs).toEqual([String(low.rows[0].sequence_id), high.sequenceId].sort());
    // A cursor past the high id must still see the low one only if it was not yet delivered: both are here.
    await watch.stop();
  });

  it("keeps every agent consistent under concurrent writers and random reconnects (property)", async () => {
    const generators = await Promise.all([0, 1, 2].map(() => createGenerator(broker)));
    const stacks = await Promise.all(generators.flatMap((g) => [0, 1].map(() => createStack(broker, g.pak).then((s) => ({ ...s, gen: g })))));
    const agents = await Promise.all([0, 1, 2, 3].map(() => createAgent(broker, { activate: true })));
    const targets = new Map<string, string[]>();
    for (const [i, agent] of agents.entries()) {
      const mine = stacks.filter((_, j) => (i + j) % 2 === 0 || j === i);
      targets.set(agent.id, mine.map((s) => s.id));
      for (const s of mine) await targetStack(broker, agent.id, s.id);
    }
    const sessions = new Map<string, DeploymentEvent[][]>(agents.map((a) => [a.id, []]));
    const cursors = new Map<string, string>(agents.map((a) => [a.id, "0"]));
    let writing = true;
    const reconnector = (async () => {
      const live = new Map(agents.map((a) => [a.id, watchDeployments(broker.url, a.pak, "0")]));
      while (writing) {
        await sleep(50 + Math.random() * 150);
        const agent = agents[Math.floor(Math.random() * agents.length)]!;
        const w = live.get(agent.id)!;
        await w.stop();
        sessions.get(agent.id)!.push([...w.events]);
        const maxSeq = w.events.reduce((m, e) => (e.deploymentObject && BigInt(e.deploymentObject.sequenceId) > m ? BigInt(e.deploymentObject.sequenceId) : m), BigInt(cursors.get(agent.id)!));
        cursors.set(agent.id, String(maxSeq));
        live.set(agent.id, watchDeployments(broker.url, agent.pak, String(maxSeq)));
      }
      return live;
    })();
    const writers = generators.map(async (g) => {
      const own = stacks.filter((s) => s.gen.id === g.id);
      for (let i = 0; i < 15; i++) {
        const s = own[Math.floor(Math.random() * own.length)]!;
        await createObject(broker, g.pak, s.id, CONFIGMAP_YAML(`w-${i}-${Math.random().toString(36).slice(2)}`));
      }
    });
    await Promise.all(writers);
    writing = false;
    const live = await reconnector;
    const { rows } = await broker.db.sql.query<{ stack_id: string; sequence_id: string }>(
      "SELECT DISTINCT ON (stack_id) stack_id, sequence_id FROM deployment_objects ORDER BY stack_id, sequence_id DESC");
    const latest = new Map(rows.map((r) => [r.stack_id, String(r.sequence_id)]));
    const all = await broker.db.sql.query<{ stack_id: string; sequence_id: string }>("SELECT stack_id, sequence_id FROM deployment_objects ORDER BY sequence_id");
    for (const agent of agents) {
      const w = live.get(agent.id)!;
      const expected = targets.get(agent.id)!.filter((s) => latest.has(s));
      await w.until((events) => {
        const seen = new Map<string, string>();
        for (const session of [...sessions.get(agent.id)!, events]) for (const e of session) if (e.deploymentObject) seen.set(e.stackId, e.deploymentObject.sequenceId);
        return expected.every((s) => seen.get(s) === latest.get(s));
      });
      for (const session of [...sessions.get(agent.id)!, w.events]) {
        assertOrderedWithoutDuplicates(session);
        for (const e of session) expect(targets.get(agent.id)).toContain(e.stackId);
        // Live streaming skips nothing: after its first event, a stack's objects arrive without gaps.
        for (const stackId of new Set(session.map((e) => e.stackId))) {
          const got = session.filter((e) => e.stackId === stackId).map((e) => e.deploymentObject!.sequenceId);
          const ofStack = all.rows.filter((r) => r.stack_id === stackId).map((r) => String(r.sequence_id));
          const from = ofStack.indexOf(got[0]!);
          expect(got).toEqual(ofStack.slice(from, from + got.length));
        }
      }
      await w.stop();
    }
  });

  it("catches an agent up across a broker restart", async () => {
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker, { activate: true });
    const stack = await createStack(broker, gen.pak);
    await targetStack(broker, agent.id, stack.id);
    const first = await createObject(broker, gen.pak, stack.id, CONFIGMAP_YAML("before"));
    const restartable = await startTestBroker({}, broker.db);
    const w1 = watchDeployments(restartable.url, agent.pak);
    await w1.until((e) => e.length === 1);
    await w1.stop();
    await restartable.stop();
    const missed = await createObject(broker, gen.pak, stack.id, CONFIGMAP_YAML("while-down"));
    const again = await startTestBroker({}, broker.db);
    const w2 = watchDeployments(again.url, agent.pak, first.sequenceId);
    await w2.until((e) => e.length === 1);
    expect(w2.events[0]!.deploymentObject!.id).toBe(missed.id);
    await w2.stop();
  });

  it("delivers across two broker processes sharing one database", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      env: {
        ...process.env,
        BROKKR__DATABASE__URL: broker.db.url,
        BROKKR__DATABASE__MIGRATE: "false",
        BROKKR__BROKER__PORT: "0",
        BROKKR__BROKER__HOST: "127.0.0.1",
        BROKKR__LOG__LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      let out = "";
      child.stdout!.on("data", (d) => (out += String(d)));
      const start = Date.now();
      while (!/ready: (http:\/\/[^/\s]+)/.test(out) && Date.now() - start < 60_000) await sleep(100);
      const otherUrl = /ready: (http:\/\/[^/\s]+)/.exec(out)![1]!;
      const gen = await createGenerator(broker);
      const agent = await createAgent(broker, { activate: true });
      const stack = await createStack(broker, gen.pak);
      await targetStack(broker, agent.id, stack.id);
      const watch = watchDeployments(otherUrl, agent.pak);
      await sleep(300);
      const obj = await createObject(broker, gen.pak, stack.id);
      await watch.until((e) => e.some((x) => x.deploymentObject?.id === obj.id));
      await watch.stop();
    } finally {
      // Graceful shutdown on SIGTERM: stop accepting, close, exit 0.
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  });

  it("delivers an object created through one broker to an agent subscribed to another", async () => {
    const other = await startTestBroker({}, broker.db);
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker, { activate: true });
    const stack = await createStack(broker, gen.pak);
    await targetStack(broker, agent.id, stack.id);
    const watch = watchDeployments(other.url, agent.pak);
    await sleep(200);
    const obj = await createObject(broker, gen.pak, stack.id);
    await watch.until((e) => e.length === 1);
    expect(watch.events[0]!.deploymentObject!.id).toBe(obj.id);
    await watch.stop();
  });
});
