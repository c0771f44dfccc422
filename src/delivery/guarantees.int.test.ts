import { spawn } from "node:child_process";
import fc from "fast-check";
import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { listenTo } from "../../test/db.js";
import {
  CONFIGMAP_YAML,
  createAgent,
  createGenerator,
  createObject,
  createStack,
  targetedAgent,
  targetStack,
} from "../../test/factories.js";
import { type DeploymentEvent, waitUntil, watchDeployments, watchLive } from "../../test/subscriptions.js";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});

/** True once a session of this database waits for an advisory lock: the broker's horizon read blocked by an open insert. */
async function horizonReadWaits(): Promise<boolean> {
  const { rows } = await broker.db.sql.query(
    "SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE d.datname = current_database() AND l.locktype = 'advisory' AND NOT l.granted",
  );
  return rows.length > 0;
}

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

const GENERATORS = 3;
const STACKS_PER_GENERATOR = 2;
const AGENTS = 4;
/** Per generator, its writes in order: which of its stacks, and which agent (if any) reconnects after the write. */
const planArbitrary = fc.array(
  fc.array(fc.record({ stack: fc.nat(STACKS_PER_GENERATOR - 1), reconnect: fc.option(fc.nat(AGENTS - 1), { freq: 2 }) }), {
    minLength: 15,
    maxLength: 15,
  }),
  { minLength: GENERATORS, maxLength: GENERATORS },
);
type Plan = typeof planArbitrary extends fc.Arbitrary<infer T> ? T : never;

async function consistentUnder(plan: Plan): Promise<void> {
  const generators = await Promise.all(plan.map(() => createGenerator(broker)));
  const stacks = await Promise.all(
    generators.map((g) => Promise.all(Array.from({ length: STACKS_PER_GENERATOR }, () => createStack(broker, g.pak)))),
  );
  const allStacks = stacks.flat();
  const agents = await Promise.all(Array.from({ length: AGENTS }, () => createAgent(broker, { activate: true })));
  const targets = new Map<string, string[]>();
  for (const [i, agent] of agents.entries()) {
    const mine = allStacks.filter((_, j) => (i + j) % 2 === 0 || j === i);
    targets.set(
      agent.id,
      mine.map((s) => s.id),
    );
    for (const s of mine) await targetStack(broker, agent.id, s.id);
  }
  const sessions = new Map<string, DeploymentEvent[][]>(agents.map((a) => [a.id, []]));
  const live = new Map(agents.map((a) => [a.id, watchDeployments(broker.url, a.pak, "0")]));
  // Reconnects run one at a time, in the order the writers ask for them, each resuming from its cursor.
  let reconnects = Promise.resolve();
  const reconnect = (agent: { id: string; pak: string }) => {
    reconnects = reconnects.then(async () => {
      const w = live.get(agent.id);
      if (!w) return;
      await w.stop();
      const agentSessions = sessions.get(agent.id) ?? [];
      agentSessions.push([...w.events]);
      sessions.set(agent.id, agentSessions);
      live.set(agent.id, watchDeployments(broker.url, agent.pak, cursorAfter(agentSessions)));
    });
  };
  await Promise.all(
    plan.map(async (writes, g) => {
      const gen = generators[g];
      for (const [i, write] of writes.entries()) {
        const stack = stacks[g]?.[write.stack];
        if (!gen || !stack) throw new Error("the plan names a generator or stack that does not exist");
        await createObject(broker, gen.pak, stack.id, CONFIGMAP_YAML(`w-${g}-${i}`));
        const agent = write.reconnect === null ? undefined : agents[write.reconnect];
        if (agent) reconnect(agent);
      }
    }),
  );
  await reconnects;
  const ids = new Set(allStacks.map((s) => s.id));
  const { rows } = await broker.db.sql.query<{ stack_id: string; sequence_id: string }>(
    "SELECT stack_id, sequence_id::text AS sequence_id FROM deployment_objects d ORDER BY d.sequence_id",
  );
  const all = rows.filter((r) => ids.has(r.stack_id));
  const latest = new Map(all.map((r) => [r.stack_id, r.sequence_id]));
  for (const agent of agents) {
    const w = live.get(agent.id);
    if (!w) throw new Error("no live watch");
    const expected = (targets.get(agent.id) ?? []).filter((s) => latest.has(s));
    const agentSessions = sessions.get(agent.id) ?? [];
    const missing = () => {
      const seen = new Map<string, string>();
      for (const session of [...agentSessions, w.events])
        for (const e of session) if (e.deploymentObject) seen.set(e.stackId, e.deploymentObject.sequenceId);
      return expected
        .filter((s) => seen.get(s) !== latest.get(s))
        .map((s) => `${s}: latest ${latest.get(s)}, got ${seen.get(s)}`);
    };
    const describeSessions = () =>
      `missing ${missing().join("; ")}; sessions ${JSON.stringify([...agentSessions, w.events].map((x) => x.map((e) => `${e.stackId.slice(0, 4)}:${e.deploymentObject?.sequenceId}`)))}`;
    await waitUntil(() => missing().length === 0, describeSessions);
    for (const session of [...agentSessions, w.events]) {
      assertOrderedWithoutDuplicates(session);
      for (const e of session) expect(targets.get(agent.id)).toContain(e.stackId);
      // Live streaming skips nothing: after its first event, a stack's objects arrive without gaps.
      for (const stackId of new Set(session.map((e) => e.stackId))) {
        const got = session.filter((e) => e.stackId === stackId).map((e) => e.deploymentObject?.sequenceId);
        const ofStack = all.filter((r) => r.stack_id === stackId).map((r) => r.sequence_id);
        const from = ofStack.indexOf(got[0] ?? "");
        expect(got).toEqual(ofStack.slice(from, from + got.length));
      }
    }
    await w.stop();
  }
}

/** The highest sequence id an agent has received over its sessions: where it resumes. */
function cursorAfter(sessions: DeploymentEvent[][]): string {
  let max = 0n;
  for (const e of sessions.flat())
    if (e.deploymentObject && BigInt(e.deploymentObject.sequenceId) > max) max = BigInt(e.deploymentObject.sequenceId);
  return String(max);
}

describe("delivery guarantees", () => {
  it("does not lose an object whose transaction took a lower sequence id but committed last", async () => {
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker, { activate: true });
    const slow = await createStack(broker, gen.pak);
    const fast = await createStack(broker, gen.pak);
    await targetStack(broker, agent.id, slow.id);
    await targetStack(broker, agent.id, fast.id);
    const watch = await watchLive(broker, agent);
    const held = new pg.Client({ connectionString: broker.db.url });
    await held.connect();
    await held.query("BEGIN");
    const low = await held.query(
      `INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum)
       VALUES ($1, $2, 'a: 1', encode(sha256('a: 1'), 'hex')) RETURNING sequence_id`,
      [slow.id, gen.id],
    );
    const high = await createObject(broker, gen.pak, fast.id); // takes a higher id, commits first
    expect(BigInt(high.sequenceId)).toBeGreaterThan(BigInt(low.rows[0].sequence_id));
    // Commit the low id only once the broker, woken by the high one, is waiting for it to settle.
    await waitUntil(horizonReadWaits, () => "the broker never waited for the open insert");
    await held.query("COMMIT");
    await held.end();
    await watch.until((e) => e.length === 2);
    const seqs = watch.events.map((e) => e.deploymentObject!.sequenceId).sort();
    expect(seqs).toEqual([String(low.rows[0].sequence_id), high.sequenceId].sort());
    // A cursor past the high id must still see the low one only if it was not yet delivered: both are here.
    await watch.stop();
  });

  it("keeps every agent consistent under concurrent writers and random reconnects (property)", async () => {
    // BROKKR_TEST_SEED replays a run: the same writes on the same stacks, the same reconnects after the same writes.
    const seed = Number(process.env.BROKKR_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`delivery property: seed ${seed} (replay with BROKKR_TEST_SEED=${seed})`);
    await fc.assert(
      fc.asyncProperty(planArbitrary, (plan) => consistentUnder(plan)),
      { seed, numRuns: 1, endOnFailure: true },
    );
  });

  it("catches an agent up across a broker restart", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
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
      await waitUntil(
        () => /ready: (http:\/\/[^/\s]+)/.test(out),
        () => `the second broker did not start: ${out}`,
        60_000,
      );
      const otherUrl = /ready: (http:\/\/[^/\s]+)/.exec(out)![1]!;
      const { gen, agent, stack } = await targetedAgent(broker);
      // The other process is out of reach of nextOpened: its replay of `first` says it is subscribed.
      const first = await createObject(broker, gen.pak, stack.id, CONFIGMAP_YAML("first"));
      const watch = watchDeployments(otherUrl, agent.pak);
      await watch.until((e) => e.some((x) => x.deploymentObject?.id === first.id));
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
    const { gen, agent, stack } = await targetedAgent(broker);
    const watch = await watchLive(other, agent);
    const obj = await createObject(broker, gen.pak, stack.id);
    await watch.until((e) => e.length === 1);
    expect(watch.events[0]!.deploymentObject!.id).toBe(obj.id);
    await watch.stop();
  });

  it("wakes the other brokers with a brokkr_objects notification after an object commits", async () => {
    // Another broker's one-second safety read would deliver without it, only late: listen directly.
    const listener = await listenTo(broker.db.url, "brokkr_objects");
    try {
      const { gen, stack } = await targetedAgent(broker);
      await createObject(broker, gen.pak, stack.id);
      await waitUntil(
        () => listener.payloads.length > 0,
        () => "no brokkr_objects notification followed the commit",
      );
    } finally {
      await listener.end();
    }
  });
});
