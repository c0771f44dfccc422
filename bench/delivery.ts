// npm run bench:delivery — commit→receipt latency for N subscribed agents (clients in a separate
// process), deliveries/s, broker memory per agent, and the REST long-poll and 10 s polling
// latency. Prints figures; never a test. BENCH_AGENTS=100,1000 picks N.
import { fork } from "node:child_process";
import pg from "pg";
import { mintPak } from "../src/auth/pak.js";
import { gql, percentile, startBenchBroker, yaml2k } from "./harness.js";

const sizes = (process.env.BENCH_AGENTS ?? "100,1000").split(",").map(Number);
const OBJECTS = Number(process.env.BENCH_OBJECTS ?? 20);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function activeSubscriptions(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^brokkr_active_subscriptions (\d+)/m.exec(text)?.[1] ?? 0);
}

async function run(n: number) {
  const broker = await startBenchBroker(`delivery${n}`);
  const sql = new pg.Client({ connectionString: broker.databaseUrl });
  await sql.connect();
  const gen = await gql(
    broker.url,
    broker.adminPak,
    `mutation { createGenerator(input: { name: "bench" }) { generator { id } pak } }`,
  );
  const genPak = gen.createGenerator.pak as string;
  const stack = await gql(broker.url, genPak, `mutation { createStack(input: { name: "fanout" }) { stack { id } } }`);
  const stackId = stack.createStack.stack.id as string;
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

  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  const child = fork(new URL("./delivery-clients.ts", import.meta.url).pathname, [], { execArgv: ["--import", "tsx"] });
  const messages: ((m: unknown) => void)[] = [];
  child.on("message", (m) => messages.shift()?.(m));
  const next = () => new Promise<unknown>((r) => messages.push(r));
  child.send({ url: broker.url, paks: paks.map((p) => p.pak) });
  await next();
  const connectStart = Date.now();
  // Wait until all are subscribed, or the count stops growing for 30 s (then report how many).
  let connected = 0;
  for (let last = -1, stalledSince = Date.now(); connected < n; await sleep(250)) {
    connected = await activeSubscriptions(broker.url);
    if (connected !== last) [last, stalledSince] = [connected, Date.now()];
    else if (Date.now() - stalledSince > 30_000) break;
  }
  const connectSeconds = (Date.now() - connectStart) / 1000;
  if (connected < n) console.log(`N=${n}: only ${connected} subscriptions opened`);
  await sleep(500);
  global.gc?.();
  const rssPerAgent = (process.memoryUsage().rss - rssBefore) / connected;
  const heapPerAgent = (process.memoryUsage().heapUsed - heapBefore) / connected;

  const committed = new Map<string, number>();
  for (let i = 0; i < OBJECTS; i++) {
    const o = await gql(
      broker.url,
      genPak,
      `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) { deploymentObject { id } } }`,
      { s: stackId, y: yaml2k(i) },
    );
    committed.set(o.createDeploymentObject.deploymentObject.id, Date.now());
    await sleep(Math.max(200, n / 10));
  }
  await sleep(2000);
  child.send({ type: "report" });
  const { receipts } = (await next()) as { receipts: [string, number][] };
  const latencies = receipts.flatMap(([id, t]) => {
    const sentAt = committed.get(id);
    return sentAt === undefined ? [] : [t - sentAt];
  });
  const perObjectSpan = [...committed.entries()].map(([id, t0]) => {
    const times = receipts.filter(([r]) => r === id).map(([, t]) => t);
    return times.length ? (Math.max(...times) - t0) / 1000 : NaN;
  });
  const deliveriesPerSecond = connected / percentile(perObjectSpan, 50);
  console.log(
    `N=${n}: connect ${connectSeconds.toFixed(1)} s; deliveries ${latencies.length}/${connected * OBJECTS}; commit→receipt p50 ${percentile(latencies, 50)} ms, ` +
      `p99 ${percentile(latencies, 99)} ms, max ${Math.max(...latencies)} ms; one object to all agents: ${deliveriesPerSecond.toFixed(0)} deliveries/s; ` +
      `broker per idle subscribed agent: RSS +${(rssPerAgent / 1024).toFixed(1)} KB, JS heap +${(heapPerAgent / 1024).toFixed(1)} KB`,
  );

  // Reconnect storm: all N reconnect at once with cursor 0.
  child.send({ type: "stop" });
  await new Promise((r) => child.once("exit", r));
  while ((await activeSubscriptions(broker.url)) > 0) await sleep(100);
  const storm = fork(new URL("./delivery-clients.ts", import.meta.url).pathname, [], { execArgv: ["--import", "tsx"] });
  const stormMessages: ((m: unknown) => void)[] = [];
  storm.on("message", (m) => stormMessages.shift()?.(m));
  const stormStart = Date.now();
  storm.send({ url: broker.url, paks: paks.map((p) => p.pak) });
  await new Promise((r) => stormMessages.push(r));
  let caughtUp = 0;
  while (caughtUp < connected && Date.now() - stormStart < 300_000) {
    await sleep(250);
    storm.send({ type: "report" });
    const { receipts: got } = (await new Promise<unknown>((r) => stormMessages.push(r))) as { receipts: unknown[] };
    caughtUp += got.length;
  }
  console.log(
    `N=${n}: reconnect storm, ${caughtUp} of ${n} agents resubscribed with a cursor and caught up in ${((Date.now() - stormStart) / 1000).toFixed(1)} s`,
  );
  storm.send({ type: "stop" });
  await new Promise((r) => storm.once("exit", r));

  const [firstAgent, firstPak] = [rows[0], paks[0]];
  if (n === sizes[0] && firstAgent && firstPak) await restLatency(broker, genPak, stackId, firstAgent.id, firstPak.pak);
  await sql.end();
  await broker.stop();
}

async function restLatency(broker: { url: string }, genPak: string, stackId: string, agentId: string, pak: string) {
  const latencies: number[] = [];
  let cursor = (
    await (
      await fetch(`${broker.url}/api/v1/agents/${agentId}/deployment-objects?after=0&wait=0`, {
        headers: { authorization: `Bearer ${pak}` },
      })
    ).json()
  ).cursor;
  for (let i = 0; i < 10; i++) {
    const poll = fetch(`${broker.url}/api/v1/agents/${agentId}/deployment-objects?after=${cursor}&wait=30`, {
      headers: { authorization: `Bearer ${pak}` },
    });
    await sleep(100);
    await gql(
      broker.url,
      genPak,
      `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) { deploymentObject { id } } }`,
      { s: stackId, y: yaml2k(1000 + i) },
    );
    const t0 = Date.now();
    const body = await (await poll).json();
    latencies.push(Date.now() - t0);
    cursor = body.cursor;
  }
  console.log(
    `REST long-poll: commit→answer p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms (10 objects)`,
  );
  console.log(
    `REST polling every 10 s (Brokkr's default): expected commit→receipt ≈ 5000 ms mean, up to 10000 ms (half and whole interval)`,
  );
}

for (const n of sizes) await run(n);
process.exit(0);
