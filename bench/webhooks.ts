// npm run bench:webhooks — webhook deliveries per second through the broker's delivery task,
// beside its limit measured in the same run (a bare loop POSTing the same bodies with the same
// headers to the same receiver, as many at once as the task's batch), and the ratio; then what
// the outbox triggers cost deployment-object inserts (triggers on vs off). Prints figures only.
import http from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { signatureHeaders } from "../src/webhooks/crypto.js";
import { DELIVERY_TASK } from "../src/webhooks/worker.js";
import { gql, startBenchBroker } from "./harness.js";

const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 3000);
const BATCH = Number(process.env.BENCH_WEBHOOK_BATCH ?? 50);
const INSERTS = Number(process.env.BENCH_INSERTS ?? 2000);

async function startReceiver() {
  let count = 0;
  const server = http.createServer({ keepAlive: true }, (req, res) => {
    req.resume();
    req.on("end", () => {
      count++;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received: () => count, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** The limit: the same bodies and headers POSTed by a bare loop, BATCH at a time. */
async function bareLoop(url: string, bodies: string[]): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < bodies.length; i += BATCH) {
    await Promise.all(
      bodies.slice(i, i + BATCH).map(async (body) => {
        const headers = { "content-type": "application/json", ...signatureHeaders("bench-secret-0123456789", body, 1) };
        const res = await fetch(url, { method: "POST", body, headers, redirect: "manual" });
        await res.body?.cancel();
      }),
    );
  }
  return bodies.length / ((performance.now() - started) / 1000);
}

async function insertRate(sql: pg.Client, stackId: string, generatorId: string, batched: boolean): Promise<number> {
  const started = performance.now();
  if (batched) {
    for (let i = 0; i < INSERTS; i += 500)
      await sql.query(
        `INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum)
         SELECT $1, $2, 'n: ' || n, encode(sha256(convert_to('n: ' || n, 'UTF8')), 'hex') FROM generate_series(1, 500) n`,
        [stackId, generatorId],
      );
  } else {
    for (let i = 0; i < INSERTS; i++)
      await sql.query(
        `INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum)
         VALUES ($1, $2, $3::text, encode(sha256(convert_to($3::text, 'UTF8')), 'hex'))`,
        [stackId, generatorId, `n: ${i}`],
      );
  }
  return INSERTS / ((performance.now() - started) / 1000);
}

async function triggerCost(databaseUrl: string) {
  const sql = new pg.Client({ connectionString: databaseUrl });
  await sql.connect();
  const g = (await sql.query("INSERT INTO generators (name) VALUES ('bench-triggers') RETURNING id")).rows[0].id;
  const s = (await sql.query("INSERT INTO stacks (generator_id, name) VALUES ($1, 'bench-triggers') RETURNING id", [g])).rows[0]
    .id;
  // Interleaved, best of three each: the machine's noise is larger than the difference.
  for (const batched of [false, true]) {
    let on = 0;
    let off = 0;
    for (let round = 0; round < 3; round++) {
      on = Math.max(on, await insertRate(sql, s, g, batched));
      await sql.query("ALTER TABLE deployment_objects DISABLE TRIGGER deployment_objects_events");
      off = Math.max(off, await insertRate(sql, s, g, batched));
      await sql.query("ALTER TABLE deployment_objects ENABLE TRIGGER deployment_objects_events");
    }
    const kind = batched ? "batched (500 rows per INSERT)" : "single-row INSERTs";
    console.log(
      `deployment-object inserts/s, ${kind}: ${on.toFixed(0)} with the outbox trigger, ${off.toFixed(0)} without (ratio ${(on / off).toFixed(2)})`,
    );
  }
  await sql.end();
}

async function main() {
  const receiver = await startReceiver();
  const broker = await startBenchBroker("webhooks", {
    BROKKR__BROKER__WEBHOOK_DELIVERY_INTERVAL_SECONDS: "3600",
    BROKKR__BROKER__WEBHOOK_DELIVERY_BATCH_SIZE: String(BATCH),
  });
  try {
    await gql(
      broker.url,
      broker.adminPak,
      `mutation($u: String!) { createWebhookSubscription(input: { name: "bench", url: $u, eventTypes: ["stack.*"],
         secret: "bench-secret-0123456789" }) { subscription { id } } }`,
      { u: receiver.url },
    );
    const sql = new pg.Client({ connectionString: broker.databaseUrl });
    await sql.connect();
    await sql.query(
      `INSERT INTO domain_events (event_type, stack_id, data)
       SELECT 'stack.created', gen_random_uuid(), jsonb_build_object('n', n) FROM generate_series(1, $1::int) n`,
      [EVENTS],
    );
    const started = performance.now();
    while (receiver.received() < EVENTS) await broker.app.scheduler.runNow(DELIVERY_TASK);
    const broker_rate = EVENTS / ((performance.now() - started) / 1000);
    const bodies = (await sql.query("SELECT payload FROM webhook_deliveries")).rows.map((r) => r.payload as string);
    await sql.end();
    const limit = await bareLoop(receiver.url, bodies);
    console.log(`webhook deliveries/s (batch ${BATCH}, ${EVENTS} events, signed, recorded): ${broker_rate.toFixed(0)}`);
    console.log(`limit, a bare loop POSTing the same bodies to the same receiver: ${limit.toFixed(0)}/s`);
    console.log(`ratio: ${(broker_rate / limit).toFixed(2)}`);
    await triggerCost(broker.databaseUrl);
  } finally {
    await broker.stop();
    await receiver.close();
  }
}

await main();
