// npm run bench:api — prints SQL statements per request and latency for a 100-stack page, and
// createDeploymentObject throughput. A script that prints figures, never a test.
import pg from "pg";
import { gql, percentile, startBenchBroker, yaml2k } from "./harness.js";

const PAGE_QUERY = `query($first: Int) { stacks(first: $first) { edges { node {
  id name labels annotations { key value }
  latestDeploymentObject { id sequenceId yamlChecksum }
  targetedAgents { id name status } } } pageInfo { hasNextPage } } }`;

async function main() {
  const broker = await startBenchBroker("api");
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

  // Count statements on every pooled connection the broker uses.
  let statements = 0;
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    statements++;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  for (const first of [10, 100]) {
    statements = 0;
    await gql(url, adminPak, PAGE_QUERY, { first });
    console.log(
      `SQL statements for a page of ${first} stacks (labels, annotations, latest object, targeted agents): ${statements}`,
    );
  }
  pg.Client.prototype.query = original;

  const latencies: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await gql(url, adminPak, PAGE_QUERY, { first: 100 });
    latencies.push(performance.now() - t);
  }
  console.log(
    `100-stack page latency: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms (200 requests)`,
  );

  const stacks = await gql(url, adminPak, `{ stacks(first: 100) { edges { node { id } } } }`);
  const ids: string[] = stacks.stacks.edges.map((e: { node: { id: string } }) => e.node.id);
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  let done = 0;
  const deadline = Date.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = 0; Date.now() < deadline; i++) {
        await gql(
          url,
          genPak,
          `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) { deploymentObject { id } } }`,
          { s: ids[(w * 7 + i) % ids.length], y: yaml2k(w * 100000 + i) },
        );
        done++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  console.log(
    `createDeploymentObject (2 KB YAML, ${concurrency} concurrent clients): ${(done / elapsed).toFixed(0)} mutations/s over ${elapsed.toFixed(1)} s`,
  );
  await broker.stop();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
