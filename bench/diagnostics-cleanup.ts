// npx tsx bench/diagnostics-cleanup.ts — how long the diagnostic clean-up task takes to delete
// N expired requests with their results (ours: batches of 5,000 through the scheduler's runNow),
// beside the limit measured in the same run: one plain DELETE of the same rows. Prints figures,
// never a test. BROKKR__DATABASE__URL names a server; without it an embedded one is started.
import pg from "pg";
import { DIAGNOSTIC_CLEANUP_TASK } from "../src/diagnostics/tasks.js";
import { startBenchBroker } from "./harness.js";

const N = Number(process.env.BENCH_ROWS ?? 20_000);
const LIVE = 1_000;

async function seed(sql: pg.Pool, agentId: string, objectId: string): Promise<void> {
  await sql.query(
    `INSERT INTO diagnostic_requests (agent_id, deployment_object_id, status, created_at, expires_at)
     SELECT $1, $2, 'completed', now() - interval '2 hours', now() - interval '1 hour' FROM generate_series(1, $3)`,
    [agentId, objectId, N],
  );
  // Results of a typical size: 2 KB of pod statuses and events each, 8 KB of log tails.
  await sql.query(`INSERT INTO diagnostic_results (request_id, pod_statuses, events, log_tails, collected_at)
    SELECT id, repeat('p', 2000), repeat('e', 2000), repeat('l', 8000), now() FROM diagnostic_requests
     WHERE expires_at < now()`);
}

async function main() {
  const broker = await startBenchBroker("diagnostics");
  const sql = new pg.Pool({ connectionString: broker.databaseUrl, max: 2 });
  try {
    const g = (await sql.query(`INSERT INTO generators (name, pak_hash) VALUES ('g', repeat('a', 64)) RETURNING id`)).rows[0].id;
    const s = (await sql.query(`INSERT INTO stacks (name, generator_id) VALUES ('s', $1) RETURNING id`, [g])).rows[0].id;
    const o = (
      await sql.query(
        `INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum)
         VALUES ($1, $2, 'a: 1', encode(sha256('a: 1'), 'hex')) RETURNING id`,
        [s, g],
      )
    ).rows[0].id;
    const a = (
      await sql.query(`INSERT INTO agents (name, cluster_name, pak_hash) VALUES ('a', 'c', repeat('b', 64)) RETURNING id`)
    ).rows[0].id;
    await sql.query(
      `INSERT INTO diagnostic_requests (agent_id, deployment_object_id, expires_at)
       SELECT $1, $2, now() + interval '1 hour' FROM generate_series(1, $3)`,
      [a, o, LIVE],
    );
    await seed(sql, a, o);
    let t = performance.now();
    await sql.query(`DELETE FROM diagnostic_requests WHERE expires_at < now()`);
    const plainMs = performance.now() - t;
    await seed(sql, a, o);
    t = performance.now();
    const outcome = await broker.app.scheduler.runNow(DIAGNOSTIC_CLEANUP_TASK);
    const taskMs = performance.now() - t;
    const live = (await sql.query(`SELECT count(*)::int AS n FROM diagnostic_requests`)).rows[0].n;
    console.log(`expired requests (with results): ${N}; live requests kept: ${live} of ${LIVE}`);
    console.log(`plain DELETE (limit):        ${plainMs.toFixed(0)} ms`);
    console.log(`diagnostic-cleanup task:     ${taskMs.toFixed(0)} ms, deleted ${outcome.handled} (${outcome.outcome})`);
    console.log(`ratio task / plain DELETE:   ${(taskMs / plainMs).toFixed(2)}`);
  } finally {
    await sql.end();
    await broker.stop();
  }
}

await main();
