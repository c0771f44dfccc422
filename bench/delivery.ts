// npm run bench:delivery — for N subscribed agents (clients in a separate process): commit→receipt
// latency, deliveries/s, broker memory per idle agent and a reconnect storm, each beside the same
// figure for a bare `ws` server (bench/bare-ws-server.ts) driven by the same clients in the same
// run, with the ratio; then the REST long-poll latency. Prints figures; never a test.
// BENCH_AGENTS=1000,5000 picks N. The broker and the bare server run compiled, each in a process
// of its own (bench/broker-process.ts, built by build:bench-broker); BENCH_BROKER=tsx runs the
// broker in this process under tsx instead (as before). BENCH_HEAP_DIR=dir writes V8 heap snapshots of the broker
// before and after its N agents subscribed (bench/heap-summary.ts diffs them); BENCH_ONLY_MEMORY=1
// stops after that (no publishing, no storm). BENCH_PROFILE_DIR=dir writes CPU profiles of both
// servers while their agents idle, during the fan-out and during the storm (idle-N, fanout-N and
// storm-N.cpuprofile for the broker, the same names with a bare- prefix for the bare server);
// with BENCH_PROFILE_HEAP=1 they are sampling heap profiles of every allocation (.heapprofile).
// BENCH_NODE_FLAGS (default: as production runs the broker) and BENCH_BARE_FLAGS set node's flags.
import path from "node:path";
import v8 from "node:v8";
import pg from "pg";
import { mintPak } from "../src/auth/pak.js";
import { BROKER_NODE_FLAGS } from "../src/run-flags.js";
import { child, compiled } from "./child.js";
import { cpuWithMainThread } from "./thread-cpu.js";
import { gql, percentile, startBenchBroker, yaml2k } from "./harness.js";

const sizes = (process.env.BENCH_AGENTS ?? "100,1000").split(",").map(Number);
const OBJECTS = Number(process.env.BENCH_OBJECTS ?? 20);
const STORM_TIMEOUT_MS = 300_000;
const HEAP_DIR = process.env.BENCH_HEAP_DIR;
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
const heapSnapshot = (name: string) => {
  if (!HEAP_DIR) return;
  global.gc?.();
  console.log(`heap snapshot: ${v8.writeHeapSnapshot(path.join(HEAP_DIR, name))}`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CREATE = `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) { deploymentObject { id } } }`;

interface Figures {
  rssTotalMb: number;
  p50: number;
  p99: number;
  perSecond: number;
  rssPerAgentKb: number;
  stormSeconds: number;
  stormCaughtUp: number;
  /** Websockets the storm's clients opened: above N, the server dropped some and they retried. */
  stormSocketsOpened: number;
  /** The server process's CPU (user + system) per delivery while objects went out, and per agent in the storm. */
  cpuUsPerDelivery: number;
  /** Of cpuUsPerDelivery, the main thread's (the rest: GC and compiler threads, libuv's pool). */
  mainCpuUsPerDelivery: number;
  /** The same, less what the server spends idle over as long (keep-alive, background tasks). */
  netCpuUsPerDelivery: number;
  stormCpuUsPerAgent: number;
  idleCpuMsPerSecond: number;
  idleMainCpuMsPerSecond: number;
}

const clients = () => child(new URL("./delivery-clients.ts", import.meta.url).pathname, ["--import", "tsx"]);

/**
 * A server's idle memory: each read follows a full compacting GC (bench/gc.ts), and V8 hands
 * freed pages back to the system only a while later, so reads start after IDLE_MS and go on
 * every 2 s until RSS stops falling. The same for both sides.
 */
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 20_000);
async function settledMemory<T extends { rss: number }>(read: () => Promise<T>): Promise<T> {
  await sleep(IDLE_MS);
  let last = await read();
  for (let i = 0; i < 10; i++) {
    await sleep(2000);
    const now = await read();
    if (now.rss > last.rss * 0.99) return now.rss < last.rss ? now : last;
    last = now;
  }
  return last;
}

/**
 * A server's CPU per second of wall time over IDLE_CPU_MS while it holds its agents idle, µs/s:
 * read after the memory settled, since right after a connect burst V8's GC threads are still
 * marking and sweeping (tens of ms per second for ours at 5,000 agents).
 */
const IDLE_CPU_MS = 5000;
async function idleCpu(cpu: () => Promise<number>, mainCpu: () => Promise<number>): Promise<[number, number]> {
  await sleep(1000);
  const [c0, m0, t0] = [await cpu(), await mainCpu(), performance.now()];
  await sleep(IDLE_CPU_MS);
  const seconds = (performance.now() - t0) / 1000;
  return [((await cpu()) - c0) / seconds, ((await mainCpu()) - m0) / seconds];
}

/** Waits until `count()` reaches n, or stops growing for 30 s. */
async function untilCount(n: number, count: () => Promise<number>): Promise<number> {
  let connected = 0;
  for (let last = -1, stalledSince = Date.now(); connected < n; await sleep(250)) {
    connected = await count();
    if (connected !== last) [last, stalledSince] = [connected, Date.now()];
    else if (Date.now() - stalledSince > 30_000) break;
  }
  return connected;
}

function latencyFigures(committed: Map<string, number>, receipts: [string, number][], connected: number) {
  const latencies = receipts.flatMap(([id, t]) => {
    const t0 = committed.get(id);
    return t0 === undefined ? [] : [t - t0];
  });
  const byId = new Map<string, number>();
  for (const [id, t] of receipts) byId.set(id, Math.max(byId.get(id) ?? 0, t));
  const spans = [...committed.entries()].map(([id, t0]) => ((byId.get(id) ?? NaN) - t0) / 1000);
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    perSecond: connected / percentile(spans, 50),
    delivered: latencies.length,
  };
}

/** Counts receipts from a storm of clients until `n` arrived or the timeout. */
async function stormUntil(n: number, c: ReturnType<typeof clients>, start: number) {
  let caughtUp = 0;
  let opened = 0;
  while (caughtUp < n && Date.now() - start < STORM_TIMEOUT_MS) {
    await sleep(100);
    const report = await c.ask<{ receipts: unknown[]; sockets: { opened: number } }>({ type: "report" });
    caughtUp += report.receipts.length;
    opened = report.sockets.opened;
  }
  return { stormCaughtUp: caughtUp, stormSeconds: (Date.now() - start) / 1000, stormSocketsOpened: opened };
}

async function activeSubscriptions(url: string): Promise<number> {
  // A kept-alive connection the busy broker times out just as it is reused resets: ask again.
  const text = await fetch(`${url}/metrics`)
    .catch(() => sleep(100).then(() => fetch(`${url}/metrics`)))
    .then((r) => r.text());
  return Number(/^brokkr_active_subscriptions (\d+)/m.exec(text)?.[1] ?? 0);
}

async function seedAgents(databaseUrl: string, stackId: string, n: number) {
  const sql = new pg.Client({ connectionString: databaseUrl });
  await sql.connect();
  const paks = Array.from({ length: n }, () => mintPak());
  // Agents in bulk by SQL: creating thousands through the API is not what is measured here.
  const { rows } = await sql.query<{ id: string }>(
    `INSERT INTO agents (name, cluster_name, status, pak_hash)
     SELECT 'agent-' || i, 'bench', 'ACTIVE', h FROM unnest($1::text[]) WITH ORDINALITY AS t(h, i) RETURNING id`,
    [paks.map((p) => p.hash)],
  );
  await sql.query(`INSERT INTO agent_targets (agent_id, stack_id) SELECT unnest($1::uuid[]), $2`, [
    rows.map((r) => r.id),
    stackId,
  ]);
  await sql.end();
  return { paks, agentIds: rows.map((r) => r.id) };
}

/** One server under test with N subscribed clients: ours, or the bare-ws limit. */
interface Side {
  connected: number;
  /** The server's CPU per second of wall time while its N agents sat idle (keep-alive, background tasks), µs/s. */
  idleCpuPerSecond: number;
  /** Of idleCpuPerSecond, the main thread's. */
  idleMainCpuPerSecond: number;
  rssPerAgentKb: number;
  /** The server's whole RSS with its N idle subscribed agents. */
  rssTotalMb: number;
  /** Pushes object i; resolves with its id and the time it was committed (or pushed). */
  publish(i: number): Promise<[string, number]>;
  receipts(): Promise<[string, number][]>;
  /** Drops every client, then reconnects all at once and times until each caught up. */
  storm(): Promise<{ stormCaughtUp: number; stormSeconds: number; stormSocketsOpened: number }>;
  /** The server process's CPU time so far (user + system), in µs. */
  cpu(): Promise<number>;
  /** The same, of its main thread alone. */
  mainCpu(): Promise<number>;
  /** With BENCH_PROFILE_DIR: a CPU profile of the server from now until the function returned is called. */
  profile(name: string): Promise<() => Promise<void>>;
  stop(): Promise<void>;
}

async function storm(n: number, url: string, keys: string[], drained: () => Promise<boolean>, c: ReturnType<typeof clients>) {
  await c.stop();
  while (!(await drained())) await sleep(100);
  const s = clients();
  await s.next(); // the child is up (tsx loaded): time from here, the same for both sides
  const start = Date.now();
  await s.ask({ url, paks: keys });
  const figures = await stormUntil(n, s, start);
  await s.stop();
  return figures;
}

interface Broker {
  url: string;
  databaseUrl: string;
  adminPak: string;
  /** After a full GC. */
  memory(): Promise<NodeJS.MemoryUsage>;
  cpu(): Promise<number>;
  mainCpu(): Promise<number>;
  /** With BENCH_PROFILE_DIR: starts a CPU profile of the broker; the function returned writes it as `<name>.cpuprofile`. */
  profile(name: string): Promise<() => Promise<void>>;
  snapshot(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** With BENCH_PROFILE_DIR: starts a CPU profile of a server process; the function returned writes it as `<name>.cpuprofile`. */
async function phaseProfile(proc: ReturnType<typeof child>, name: string): Promise<() => Promise<void>> {
  if (!PROFILE_DIR) return async () => {};
  await proc.ask({ type: "profile", file: null });
  return async () => {
    const file = path.join(PROFILE_DIR, `${name}.cpuprofile`);
    console.log(`cpu profile: ${(await proc.ask<{ file: string }>({ type: "profile", file })).file}`);
  };
}

/** Node flags for the broker's process and the bare server's, as production runs (BENCH_NODE_FLAGS overrides, e.g. to add --cpu-prof). */
const NODE_FLAGS = process.env.BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? BROKER_NODE_FLAGS;
const BARE_FLAGS = process.env.BENCH_BARE_FLAGS?.split(" ").filter(Boolean) ?? NODE_FLAGS;
const cpuMicros = (u: NodeJS.CpuUsage) => u.user + u.system;

/** Our broker: compiled in a child process, or in this one under tsx (BENCH_BROKER=tsx). */
async function launchBroker(n: number): Promise<Broker> {
  if (process.env.BENCH_BROKER === "tsx") {
    const broker = await startBenchBroker(`delivery${n}`);
    return {
      ...broker,
      memory: async () => {
        global.gc?.();
        return process.memoryUsage();
      },
      snapshot: async (name) => heapSnapshot(name),
      profile: async () => async () => {},
      cpu: async () => cpuMicros(process.cpuUsage()),
      mainCpu: async () => cpuWithMainThread().mainThread,
      stop: () => broker.stop(),
    };
  }
  const proc = child(compiled("broker-process"), ["--expose-gc", ...NODE_FLAGS], { BENCH_LABEL: `delivery${n}` });
  const started = await proc.next<{ url: string; databaseUrl: string; adminPak: string }>();
  return {
    ...started,
    memory: () => proc.ask<NodeJS.MemoryUsage>({ type: "rss" }),
    cpu: async () => cpuMicros(await proc.ask<NodeJS.CpuUsage>({ type: "cpu" })),
    mainCpu: async () => (await proc.ask<{ mainThread: number }>({ type: "cpu" })).mainThread,
    async snapshot(name) {
      if (HEAP_DIR)
        console.log(
          `heap snapshot: ${(await proc.ask<{ file: string }>({ type: "snapshot", file: path.join(HEAP_DIR, name) })).file}`,
        );
    },
    profile: (name) => phaseProfile(proc, name),
    stop: () => proc.stop(),
  };
}

async function startOurs(n: number): Promise<Side> {
  const broker = await launchBroker(n);
  const gen = await gql(broker.url, broker.adminPak, `mutation { createGenerator(input: { name: "bench" }) { pak } }`);
  const genPak = gen.createGenerator.pak as string;
  const stack = await gql(broker.url, genPak, `mutation { createStack(input: { name: "fanout" }) { stack { id } } }`);
  const stackId = stack.createStack.stack.id as string;
  const { paks, agentIds } = await seedAgents(broker.databaseUrl, stackId, n);
  const keys = paks.map((p) => p.pak);
  await broker.snapshot(`broker-${n}-before.heapsnapshot`);
  const memBefore = await settledMemory(() => broker.memory());
  const rssBefore = memBefore.rss;
  const c = clients();
  await c.next();
  await c.ask({ url: broker.url, paks: keys });
  const connected = await untilCount(n, () => activeSubscriptions(broker.url));
  if (connected < n) console.log(`N=${n}: only ${connected} broker subscriptions opened`);
  const memAfter = await settledMemory(() => broker.memory());
  const stopIdleProfile = await broker.profile(`idle-${n}`);
  const [idleCpuPerSecond, idleMainCpuPerSecond] = await idleCpu(
    () => broker.cpu(),
    () => broker.mainCpu(),
  );
  await stopIdleProfile();
  const rssAfter = memAfter.rss;
  if (process.env.BENCH_ONLY_MEMORY) {
    const per = (k: keyof NodeJS.MemoryUsage) => `${k} ${((memAfter[k] - memBefore[k]) / connected / 1024).toFixed(1)} KB`;
    const spaces = (m: object) => JSON.stringify((m as { spaces?: object }).spaces ?? {});
    console.log(`spaces before ${spaces(memBefore)}\nspaces after  ${spaces(memAfter)}`);
    console.log(
      `N=${n}: per agent ${(["rss", "heapTotal", "heapUsed", "external", "arrayBuffers"] as const).map(per).join(", ")}; total RSS ${(rssAfter / 2 ** 20).toFixed(0)} MB (${(rssBefore / 2 ** 20).toFixed(0)} MB before)`,
    );
  }
  await broker.snapshot(`broker-${n}-after.heapsnapshot`);
  return {
    connected,
    idleCpuPerSecond,
    idleMainCpuPerSecond,
    rssPerAgentKb: (rssAfter - rssBefore) / connected / 1024,
    rssTotalMb: rssAfter / 2 ** 20,
    async publish(i) {
      const o = await gql(broker.url, genPak, CREATE, { s: stackId, y: yaml2k(i) });
      return [o.createDeploymentObject.deploymentObject.id, Date.now()];
    },
    receipts: async () => (await c.ask<{ receipts: [string, number][] }>({ type: "report" })).receipts,
    async storm() {
      const drained = async () => (await activeSubscriptions(broker.url)) === 0;
      const stopProfile = await broker.profile(`storm-${n}`);
      const figures = await storm(connected, broker.url, keys, drained, c);
      await stopProfile();
      return figures;
    },
    profile: (name) => broker.profile(name),
    cpu: () => broker.cpu(),
    mainCpu: () => broker.mainCpu(),
    async stop() {
      const [firstAgent, firstPak] = [agentIds[0], paks[0]];
      const rest = n === sizes[0] && !process.env.BENCH_ONLY_MEMORY;
      if (rest && firstAgent && firstPak) await restLatency(broker, genPak, stackId, firstAgent, firstPak.pak);
      await broker.stop();
    },
  };
}

/** The same clients against the bare ws server, pushing a payload of the same shape and size. */
async function startBare(n: number): Promise<Side> {
  const bare = child(compiled("bare-ws-server"), ["--expose-gc", ...BARE_FLAGS]);
  const { port } = await bare.next<{ port: number }>();
  const url = `http://127.0.0.1:${port}`;
  const keys = Array.from({ length: n }, () => mintPak().pak);
  const payload = (i: number) =>
    JSON.stringify({
      data: {
        agentDeployments: {
          type: "DEPLOY",
          stackId: "00000000-0000-4000-8000-000000000000",
          deploymentObject: {
            id: `bare-${i}`,
            sequenceId: String(i + 1),
            yamlContent: yaml2k(i),
            yamlChecksum: "0".repeat(64),
            isDeletionMarker: false,
          },
        },
      },
    });
  const count = async () => (await bare.ask<{ count: number }>({ type: "count" })).count;
  const { rss: rssBefore } = await settledMemory(() => bare.ask<{ rss: number }>({ type: "rss" }));
  const c = clients();
  await c.next();
  await c.ask({ url, paks: keys });
  const connected = await untilCount(n, count);
  const cpu = async () => cpuMicros(await bare.ask<NodeJS.CpuUsage>({ type: "cpu" }));
  const { rss } = await settledMemory(() => bare.ask<{ rss: number }>({ type: "rss" }));
  const stopIdleProfile = await phaseProfile(bare, `bare-idle-${n}`);
  const mainCpu = async () => (await bare.ask<{ mainThread: number }>({ type: "cpu" })).mainThread;
  const [idleCpuPerSecond, idleMainCpuPerSecond] = await idleCpu(cpu, mainCpu);
  await stopIdleProfile();
  return {
    connected,
    idleCpuPerSecond,
    idleMainCpuPerSecond,
    rssPerAgentKb: (rss - rssBefore) / connected / 1024,
    rssTotalMb: rss / 2 ** 20,
    async publish(i) {
      const { t0 } = await bare.ask<{ t0: number }>({ type: "publish", payload: payload(i) });
      return [`bare-${i}`, t0];
    },
    receipts: async () => (await c.ask<{ receipts: [string, number][] }>({ type: "report" })).receipts,
    cpu,
    mainCpu,
    async storm() {
      await bare.ask({ type: "onSubscribe", payload: payload(OBJECTS) });
      const stopProfile = await phaseProfile(bare, `bare-storm-${n}`);
      const figures = await storm(connected, url, keys, async () => (await count()) === 0, c);
      await stopProfile();
      return figures;
    },
    profile: (name) => phaseProfile(bare, name),
    stop: () => bare.stop(),
  };
}

/**
 * Both sides hold their N subscriptions at the same time and objects go out alternately, so
 * both meet the same load from the other processes on this machine; the storms run one after
 * the other.
 */
async function measure(n: number): Promise<[Figures, Figures]> {
  const sides = [await startOurs(n), await startBare(n)] as const;
  const committed = sides.map(() => new Map<string, number>());
  const stopProfiles = await Promise.all(sides.map((side, k) => side.profile(`${k === 0 ? "" : "bare-"}fanout-${n}`)));
  const cpuBefore = await Promise.all(sides.map((side) => side.cpu()));
  const mainBefore = await Promise.all(sides.map((side) => side.mainCpu()));
  const loopStart = performance.now();
  for (let i = 0; i < OBJECTS; i++) {
    for (const [k, side] of sides.entries()) {
      const [id, t0] = await side.publish(i);
      committed[k]?.set(id, t0);
      await sleep(Math.max(200, n / 10));
    }
  }
  await sleep(2000);
  const cpuAfter = await Promise.all(sides.map((side) => side.cpu()));
  const mainAfter = await Promise.all(sides.map((side) => side.mainCpu()));
  const loopSeconds = (performance.now() - loopStart) / 1000;
  for (const stop of stopProfiles) await stop();
  const figures: Figures[] = [];
  for (const [k, side] of sides.entries()) {
    const lat = latencyFigures(committed[k] ?? new Map(), await side.receipts(), side.connected);
    if (lat.delivered < side.connected * OBJECTS)
      console.log(`N=${n}: side ${k} delivered ${lat.delivered}/${side.connected * OBJECTS}`);
    const cpuUsPerDelivery = ((cpuAfter[k] ?? 0) - (cpuBefore[k] ?? 0)) / Math.max(1, lat.delivered);
    const mainCpuUsPerDelivery = ((mainAfter[k] ?? 0) - (mainBefore[k] ?? 0)) / Math.max(1, lat.delivered);
    const netCpuUsPerDelivery =
      ((cpuAfter[k] ?? 0) - (cpuBefore[k] ?? 0) - side.idleCpuPerSecond * loopSeconds) / Math.max(1, lat.delivered);
    const stormCpuBefore = await side.cpu();
    const storm = await side.storm();
    const stormCpuUsPerAgent = ((await side.cpu()) - stormCpuBefore) / Math.max(1, storm.stormCaughtUp);
    figures.push({
      ...lat,
      rssPerAgentKb: side.rssPerAgentKb,
      rssTotalMb: side.rssTotalMb,
      ...storm,
      cpuUsPerDelivery,
      mainCpuUsPerDelivery,
      netCpuUsPerDelivery,
      stormCpuUsPerAgent,
      idleCpuMsPerSecond: side.idleCpuPerSecond / 1000,
      idleMainCpuMsPerSecond: side.idleMainCpuPerSecond / 1000,
    });
  }
  for (const side of sides) await side.stop();
  return [figures[0] as Figures, figures[1] as Figures];
}

function report(n: number, ours: Figures, limit: Figures) {
  const row = (name: string, a: number, b: number, unit: string, digits = 0) =>
    console.log(
      `N=${n} | ${name.padEnd(34)} | ours ${a.toFixed(digits).padStart(8)} ${unit} | bare-ws limit ${b.toFixed(digits).padStart(8)} ${unit} | ratio ${b > 0 ? `${(a / b).toFixed(2)}×` : "—"}`,
    );
  row("commit→receipt p50", ours.p50, limit.p50, "ms");
  row("commit→receipt p99", ours.p99, limit.p99, "ms");
  row("deliveries/s (one object to all)", ours.perSecond, limit.perSecond, "/s");
  row("RSS per idle subscribed agent", ours.rssPerAgentKb, limit.rssPerAgentKb, "KB", 1);
  row("server RSS with N idle agents", ours.rssTotalMb, limit.rssTotalMb, "MB");
  row(`reconnect storm (${ours.stormCaughtUp}/${limit.stormCaughtUp} caught up)`, ours.stormSeconds, limit.stormSeconds, "s", 2);
  // CPU time moves less with the machine's load than wall time does.
  row("server CPU per delivery", ours.cpuUsPerDelivery, limit.cpuUsPerDelivery, "µs", 1);
  row("  of which the main thread", ours.mainCpuUsPerDelivery, limit.mainCpuUsPerDelivery, "µs", 1);
  row("  the same, net of idle CPU", ours.netCpuUsPerDelivery, limit.netCpuUsPerDelivery, "µs", 1);
  row("server CPU while idle with N agents", ours.idleCpuMsPerSecond, limit.idleCpuMsPerSecond, "ms/s", 1);
  row("  of which the main thread", ours.idleMainCpuMsPerSecond, limit.idleMainCpuMsPerSecond, "ms/s", 1);
  row("server CPU per agent in the storm", ours.stormCpuUsPerAgent, limit.stormCpuUsPerAgent, "µs", 0);
  row("websockets opened in the storm", ours.stormSocketsOpened, limit.stormSocketsOpened, "");
}

async function restLatency(broker: { url: string }, genPak: string, stackId: string, agentId: string, pak: string) {
  const latencies: number[] = [];
  const poll = (cursor: string, wait: number) =>
    fetch(`${broker.url}/api/v1/agents/${agentId}/deployment-objects?after=${cursor}&wait=${wait}`, {
      headers: { authorization: `Bearer ${pak}` },
    });
  let cursor = (await (await poll("0", 0)).json()).cursor;
  for (let i = 0; i < 10; i++) {
    const waiting = poll(cursor, 30);
    await sleep(100);
    await gql(broker.url, genPak, CREATE, { s: stackId, y: yaml2k(1000 + i) });
    const t0 = Date.now();
    const body = await (await waiting).json();
    latencies.push(Date.now() - t0);
    cursor = body.cursor;
  }
  console.log(
    `REST long-poll: commit→answer p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms (10 objects); ` +
      `Brokkr's 10 s polling: ≈ 5000 ms mean, up to 10000 ms`,
  );
}

if (process.env.BENCH_ONLY_MEMORY) {
  for (const n of sizes) {
    const ours = await startOurs(n);
    console.log(`N=${n} | RSS per idle subscribed agent (ours only) | ${ours.rssPerAgentKb.toFixed(1)} KB`);
    await ours.stop();
  }
} else for (const n of sizes) report(n, ...(await measure(n)));
process.exit(0);
