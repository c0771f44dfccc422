// npm run bench:api — prints SQL statements per request and latency for a 100-stack page, and
// createDeploymentObject throughput beside plain SQL INSERTs of the same rows (the limit, same run).
// A script that prints figures, never a test. BENCH_WRITES_ONLY=1 skips the page figures. The
// broker runs compiled in a process of its own (bench/broker-process.ts, as production runs
// it, with src/run-flags.ts's node flags; BENCH_NODE_FLAGS overrides them); BENCH_BROKER=tsx runs
// it in this process under tsx instead. BENCH_CPU_PROFILE=file
// profiles the broker over the writers' run and prints where its CPU went (bench/cpu-profile.ts).
import { fork } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import pg from "pg";
import { sha256Hex } from "../src/deployment-objects/yaml.js";
import { child, compiled } from "./child.js";
import { formatProfileParts, type Profile, startCpuProfile } from "./cpu-profile.js";
import { BROKER_NODE_FLAGS } from "../src/run-flags.js";
import { gql, percentile, startBenchBroker, yaml2k } from "./harness.js";

interface Broker {
  url: string;
  databaseUrl: string;
  adminPak: string;
  /** Where the broker runs, for the printed lines. */
  how: string;
  cpu(): Promise<NodeJS.CpuUsage>;
  profile(): Promise<(file: string) => Promise<Profile>>;
  /** SQL statements the broker sends while `run` runs. */
  statements(run: () => Promise<unknown>): Promise<number>;
  stop(): Promise<void>;
}

async function launchBroker(): Promise<Broker> {
  if (process.env.BENCH_BROKER === "tsx") {
    const broker = await startBenchBroker("api");
    return {
      ...broker,
      how: "in the bench's process, under tsx",
      cpu: async () => process.cpuUsage(),
      profile: startCpuProfile,
      async statements(run) {
        let statements = 0;
        const original = pg.Client.prototype.query;
        pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
          statements++;
          return (original as (...a: unknown[]) => unknown).apply(this, args);
        } as typeof original;
        await run().finally(() => {
          pg.Client.prototype.query = original;
        });
        return statements;
      },
    };
  }
  // As production runs it (src/run-flags.ts); BENCH_NODE_FLAGS overrides, as in bench:delivery.
  const flags = process.env.BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? BROKER_NODE_FLAGS;
  // As docker/Dockerfile.broker runs it: graphql-js, for one, checks every instanceof twice otherwise.
  const proc = child(compiled("broker-process"), flags, { BENCH_LABEL: "api", NODE_ENV: process.env.NODE_ENV ?? "production" });
  const started = await proc.next<{ url: string; databaseUrl: string; adminPak: string }>();
  return {
    ...started,
    how: `compiled, in a process of its own, NODE_ENV=${process.env.NODE_ENV ?? "production"}${flags.length ? `, node ${flags.join(" ")}` : ""}`,
    cpu: () => proc.ask<NodeJS.CpuUsage>({ type: "cpu" }),
    async profile() {
      await proc.ask({ type: "profile", file: null });
      return async (file) => {
        await proc.ask({ type: "profile", file });
        return JSON.parse(fs.readFileSync(file, "utf8")) as Profile;
      };
    },
    async statements(run) {
      await proc.ask({ type: "statements", counting: true });
      await run();
      return (await proc.ask<{ statements: number }>({ type: "statements", counting: false })).statements;
    },
    stop: () => proc.stop(),
  };
}

const PAGE_QUERY = `query($first: Int) { stacks(first: $first) { edges { node {
  id name labels annotations { key value }
  latestDeploymentObject { id sequenceId yamlChecksum }
  targetedAgents { id name status } } } pageInfo { hasNextPage } } }`;

async function main() {
  const broker = await launchBroker();
  const { url, adminPak } = broker;
  const gen = await gql(url, adminPak, `mutation { createGenerator(input: { name: "bench" }) { generator { id } pak } }`);
  const genPak = gen.createGenerator.pak as string;
  const agents: string[] = [];
  for (let i = 0; i < 10; i++) {
    const a = await gql(
      url,
      adminPak,
      `mutation($n: String!) { createAgent(input: { name: $n, clusterName: "c" }) { agent { id } } }`,
      { n: `agent-${i}` },
    );
    agents.push(a.createAgent.agent.id);
  }
  for (let i = 0; i < 100; i++) {
    const s = await gql(
      url,
      genPak,
      `mutation($n: String!) { createStack(input: { name: $n, labels: ["a", "b"], annotations: [{ key: "k", value: "v" }] }) { stack { id } } }`,
      { n: `stack-${String(i).padStart(3, "0")}` },
    );
    const stackId = s.createStack.stack.id;
    await gql(
      url,
      genPak,
      `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) { deploymentObject { id } } }`,
      { s: stackId, y: yaml2k(i) },
    );
    await gql(url, adminPak, `mutation($a: ID!, $s: ID!) { targetStack(input: { agentId: $a, stackId: $s }) { agent { id } } }`, {
      a: agents[i % 10],
      s: stackId,
    });
  }

  if (!process.env.BENCH_WRITES_ONLY) await pageFigures(broker);

  const stacks = await gql(url, adminPak, `{ stacks(first: 100) { edges { node { id } } } }`);
  const ids: string[] = stacks.stacks.edges.map((e: { node: { id: string } }) => e.node.id);
  // The broker's own CPU per mutation: on a shared machine this moves less than the rate does.
  // BENCH_CPU_PROFILE=file: a CPU profile of the broker over the writers' run, and its table.
  const profileFile = process.env.BENCH_CPU_PROFILE;
  const stopProfile = profileFile ? await broker.profile() : undefined;
  const backends = await backendPids(broker.databaseUrl);
  const backendsBefore = backendCpuMs(backends);
  const cpuBefore = await broker.cpu();
  let run = { rate: 0, done: 0, cpuMs: 0 };
  const statements = await broker.statements(async () => {
    run = process.env.BENCH_INPROCESS_CLIENTS
      ? await throughput(async (w, i) => {
          await gql(url, genPak, CREATE_OBJECT, { s: ids[(w * 7 + i) % ids.length], y: yaml2k(w * 100000 + i) });
        })
      : await writersInChildProcess(url, genPak, ids);
  });
  const { rate: ours, done: mutations, cpuMs: writersMs } = run;
  const cpuAfter = await broker.cpu();
  const backendsMs = backendCpuMs(backends) - backendsBefore;
  const cpu = { user: cpuAfter.user - cpuBefore.user, system: cpuAfter.system - cpuBefore.system };
  const cpuMsPerMutation = (cpu.user + cpu.system) / 1000 / mutations;
  const profile = stopProfile && profileFile ? await stopProfile(profileFile) : undefined;
  const generatorId = gen.createGenerator.generator.id as string;
  const plain = await plainInserts(broker.databaseUrl, generatorId, ids, false);
  const limit = plain.rate;
  const where = process.env.BENCH_INPROCESS_CLIENTS ? "clients in the broker's process" : "clients in a child process";
  console.log(
    `createDeploymentObject/s (2 KB YAML, ${CONCURRENCY} concurrent clients (${where}), each answered after its commit, live fan-out on): ours ${ours.toFixed(0)}/s | ` +
      `plain SQL INSERT of the same rows, one commit each, over ${CONCURRENCY} connections, same database, triggers on: ${limit.toFixed(0)}/s | ratio ${(ours / limit).toFixed(2)}×`,
  );
  console.log(
    `  SQL statements per createDeploymentObject: ${(statements / mutations).toFixed(3)} (${statements} for ${mutations}; group inserts, commit-feed reads with their wake-up NOTIFY, audit batches)`,
  );
  console.log(
    `  broker process CPU per createDeploymentObject: ${cpuMsPerMutation.toFixed(2)} ms (broker ${broker.how}; ${where}; user+system over the run, of it system ${(cpu.system / 1000 / mutations).toFixed(2)} ms)`,
  );
  // The machine's CPU each side spends per row, so a ratio can be read against the cores there are.
  const perRow = (ms: number, rows: number) => (Number.isNaN(ms) ? "n/a" : (ms / rows).toFixed(2));
  const oursTotal = (cpu.user + cpu.system) / 1000 + writersMs + backendsMs;
  console.log(
    `  CPU per row, every process of each side (PostgreSQL backends read from /proc): ours broker ${cpuMsPerMutation.toFixed(2)} + ` +
      `writers ${perRow(writersMs, mutations)} + PostgreSQL ${perRow(backendsMs, mutations)} = ${perRow(oursTotal, mutations)} ms | ` +
      `plain SQL client ${perRow(plain.clientMs, plain.done)} + PostgreSQL ${perRow(plain.backendsMs, plain.done)} = ` +
      `${perRow(plain.clientMs + plain.backendsMs, plain.done)} ms | ${os.cpus().length} cores`,
  );
  if (profile)
    console.log(
      `  where the broker's CPU went, per mutation (${process.env.BENCH_CPU_PROFILE}):\n${formatProfileParts(profile, mutations)}`,
    );
  // The stricter limit: the same plain INSERTs without the per-commit NOTIFY that a plain client's
  // trigger sends (the broker defers it and wakes other brokers once per batch window).
  const { rate: deferred } = await plainInserts(broker.databaseUrl, generatorId, ids, true);
  console.log(
    `  same, plain SQL with the NOTIFY deferred as the broker's inserts do: ${deferred.toFixed(0)}/s | ratio ${(ours / deferred).toFixed(2)}×`,
  );
  await broker.stop();
}

const CREATE_OBJECT = `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) { deploymentObject { id } } }`;

/** The same mutations from bench/api-writers.ts, a child process: the broker's loop serves only them. */
async function writersInChildProcess(
  url: string,
  pak: string,
  stackIds: string[],
): Promise<{ rate: number; done: number; cpuMs: number }> {
  const proc = fork(new URL("./api-writers.ts", import.meta.url).pathname, [], { execArgv: ["--import", "tsx"] });
  await new Promise((resolve) => proc.once("message", resolve));
  proc.send({ url, pak, stackIds, concurrency: CONCURRENCY, seconds: SECONDS });
  const result = await new Promise<{ rate: number; done: number; cpuMs: number }>((resolve, reject) => {
    proc.once("message", (m) => resolve(m as { rate: number; done: number; cpuMs: number }));
    proc.once("exit", (code) => reject(new Error(`bench/api-writers.ts exited with ${code}`)));
  });
  proc.kill();
  return result;
}

async function pageFigures(broker: Broker) {
  const { url, adminPak } = broker;
  for (const first of [10, 100]) {
    const statements = await broker.statements(() => gql(url, adminPak, PAGE_QUERY, { first }));
    console.log(
      `SQL statements for a page of ${first} stacks (labels, annotations, latest object, targeted agents): ${statements}`,
    );
  }

  const latencies: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await gql(url, adminPak, PAGE_QUERY, { first: 100 });
    latencies.push(performance.now() - t);
  }
  console.log(
    `100-stack page latency: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms (200 requests)`,
  );
}

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

/** Operations per second (and done) of CONCURRENCY workers each running `op` in a loop for SECONDS. */
async function throughput(
  op: (worker: number, i: number) => Promise<void>,
): Promise<{ rate: number; done: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  let done = 0;
  const deadline = Date.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (let i = 0; Date.now() < deadline; i++) {
        await op(w, i);
        done++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { rate: done / ((performance.now() - started) / 1000), done, cpuMs: (used.user + used.system) / 1000 };
}

/** The server processes serving this database's sessions now (the broker's pool, its LISTEN). */
async function backendPids(databaseUrl: string): Promise<number[]> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  const { rows } = await c.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
  );
  await c.end();
  return rows.map((r) => r.pid);
}

/** User+system CPU of these local processes so far, in ms (NaN when /proc cannot tell: a remote server). */
function backendCpuMs(pids: number[]): number {
  const tick = 1000 / 100; // USER_HZ
  return pids.reduce((sum, pid) => {
    try {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      return sum + (Number(fields[11]) + Number(fields[12])) * tick;
    } catch {
      return Number.NaN;
    }
  }, 0);
}

/**
 * The limit: the same rows by plain single-row INSERTs (each its own commit, autocommit) over as
 * many connections, every trigger firing. With `deferNotify` each INSERT sets
 * brokkr.notify_deferred as the broker's own statements do, so its trigger skips the NOTIFY.
 */
async function plainInserts(
  databaseUrl: string,
  generatorId: string,
  stackIds: string[],
  deferNotify: boolean,
): Promise<{ rate: number; done: number; clientMs: number; backendsMs: number }> {
  const clients = await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      const c = new pg.Client({ connectionString: databaseUrl });
      await c.connect();
      return c;
    }),
  );
  const pids = await Promise.all(
    clients.map(async (c) => (await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid ?? 0),
  );
  const backendsBefore = backendCpuMs(pids);
  const { rate, done, cpuMs } = await throughput(async (w, i) => {
    const yaml = yaml2k(w * 100000 + i + (deferNotify ? 70000 : 50000));
    const client = clients[w];
    if (!client) throw new Error("one client per worker");
    await client.query(
      deferNotify
        ? "INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum) SELECT $1, $2, $3, $4 FROM (SELECT set_config('brokkr.notify_deferred', 'on', true)) AS deferred"
        : "INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum) VALUES ($1, $2, $3, $4)",
      [stackIds[(w * 7 + i) % stackIds.length], generatorId, yaml, sha256Hex(yaml)],
    );
  });
  const backendsMs = backendCpuMs(pids) - backendsBefore;
  await Promise.all(clients.map((c) => c.end()));
  return { rate, done, clientMs: cpuMs, backendsMs };
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
