// npm run bench:environments — the membership statement (src/environments/members-store.ts: explicit
// members plus every live agent carrying all of the selector's labels and annotation pairs) for one
// environment among BENCH_AGENTS agents, beside its limit measured in the same run: the statement a
// person would hand-write for that one fixed selector (two index joins, no JSON, no grouping), and
// the ratio. Best of BENCH_ROUNDS each. A script that prints figures, never a test.
import { performance } from "node:perf_hooks";
import pg from "pg";
import { agentsOfEnvironments } from "../src/environments/members-store.js";
import { listEnvironmentAgents, MAX_ENVIRONMENT_AGENTS } from "../src/environments/service.js";
import { gql, startBenchBroker } from "./harness.js";

const AGENTS = Number(process.env.BENCH_AGENTS ?? 50_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

async function seed(sql: pg.Client) {
  // One agent in 10 is "prod"; half of those are in region eu: 2,500 members of 50,000. Noise labels on all.
  await sql.query(`INSERT INTO agents (name, cluster_name) SELECT 'a-' || g, 'c' FROM generate_series(1, $1::int) g`, [AGENTS]);
  await sql.query(`INSERT INTO agent_labels (agent_id, label)
    SELECT id, l FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM agents) a,
      LATERAL (VALUES ('noise-' || (a.n % 7)), ('team-' || (a.n % 13)), (CASE WHEN a.n % 10 = 0 THEN 'prod' END)) v(l)
     WHERE l IS NOT NULL`);
  await sql.query(`INSERT INTO agent_annotations (agent_id, key, value)
    SELECT id, 'region', CASE WHEN n % 20 = 0 THEN 'eu' ELSE 'us' END FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM agents) a`);
  await sql.query("ANALYZE agents; ANALYZE agent_labels; ANALYZE agent_annotations");
}

async function best(fn: () => Promise<number>): Promise<{ ms: number; rows: number }> {
  let ms = Number.POSITIVE_INFINITY;
  let rows = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now();
    rows = await fn();
    ms = Math.min(ms, performance.now() - started);
  }
  return { ms, rows };
}

// The same agent columns as the membership statement reads, so only the statement's shape differs.
const HAND_WRITTEN = `
  SELECT a.id::text AS id, a.name, a.cluster_name AS "clusterName", a.status, a.pak_hash AS "pakHash",
         a.last_heartbeat AS "lastHeartbeat", a.k8s_reachable AS "k8sReachable", a.k8s_api_latency_ms AS "k8sApiLatencyMs",
         a.created_at AS "createdAt", a.updated_at AS "updatedAt", a.deleted_at AS "deletedAt"
    FROM agents a
    JOIN agent_labels l ON l.agent_id = a.id AND l.label = 'prod'
    JOIN agent_annotations n ON n.agent_id = a.id AND n.key = 'region' AND n.value = 'eu'
   WHERE a.deleted_at IS NULL
  UNION SELECT a.id::text, a.name, a.cluster_name, a.status, a.pak_hash, a.last_heartbeat, a.k8s_reachable,
         a.k8s_api_latency_ms, a.created_at, a.updated_at, a.deleted_at
    FROM environment_members m JOIN agents a ON a.id = m.agent_id AND a.deleted_at IS NULL
   WHERE m.environment_id = $1::uuid`;

async function main() {
  const broker = await startBenchBroker("environments");
  const sql = new pg.Client({ connectionString: broker.databaseUrl });
  await sql.connect();
  try {
    await seed(sql);
    const explicit = (await sql.query("SELECT id FROM agents ORDER BY id LIMIT 10")).rows.map((r) => r.id as string);
    const env = await gql(
      broker.url,
      broker.adminPak,
      `mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { environment { id } } }`,
      {
        i: {
          name: "prod",
          orderIndex: 1,
          agentSelector: { labels: ["prod"], annotations: [{ key: "region", value: "eu" }] },
          explicitMemberIds: explicit,
        },
      },
    );
    const id = env.createEnvironment.environment.id as string;
    const db = broker.app.database.prisma;
    // Both through the broker's Prisma client (row decoding included), alternating, best of ROUNDS each.
    const ours = () => agentsOfEnvironments(db, [id], MAX_ENVIRONMENT_AGENTS + 1).then((r) => r.length);
    const hand = () => db.$queryRawUnsafe<unknown[]>(HAND_WRITTEN, id).then((r) => r.length);
    await ours();
    await hand();
    const limit = await best(hand);
    const measured = await best(ours);
    const rows = await best(async () => (await listEnvironmentAgents(db, id)).length);
    const again = await best(ours);
    console.log(`(ours again, after: ${again.ms.toFixed(2)} ms)`);
    console.log(`agents: ${AGENTS}, members: ${measured.rows} (hand-written: ${limit.rows})`);
    console.log(
      `membership statement: ours ${measured.ms.toFixed(2)} ms, limit (hand-written join) ${limit.ms.toFixed(2)} ms, ratio ${(limit.ms / measured.ms).toFixed(2)}`,
    );
    console.log(`listEnvironmentAgents (ids and agent rows): ${rows.ms.toFixed(2)} ms for ${rows.rows} agents`);
  } finally {
    await sql.end();
    await broker.stop();
  }
}

await main();
