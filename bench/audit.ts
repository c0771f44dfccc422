// npm run bench:audit — prints the audit entries per second the writer sustains (batches of 100,
// hash-chained, each in a transaction that locks the chain row) beside its limit measured in the
// same run: a plain multi-row INSERT of the same rows into a copy of the table (same indexes, no
// chain, no trigger), and the ratio. Then how fast verification reads the chain back.
// A script that prints figures, never a test.
import { performance } from "node:perf_hooks";
import pg from "pg";
import { Registry } from "prom-client";
import { GENESIS_HASH } from "../src/audit/chain.js";
import type { AuditEntry } from "../src/audit/entry.js";
import { verifyChain } from "../src/audit/service.js";
import { insertRows } from "../src/audit/store.js";
import { AuditWriter, chainRows, DEFAULT_WRITER_OPTIONS } from "../src/audit/writer.js";
import { startBenchBroker } from "./harness.js";

const ENTRIES = Number(process.env.BENCH_AUDIT_ENTRIES ?? 20_000);
const BATCH = DEFAULT_WRITER_OPTIONS.batchSize;

/** A typical entry: a REST mutation by a generator, with its input and client. */
const entry = (i: number): AuditEntry => ({
  at: new Date(),
  actorType: "generator",
  actorId: "6f1c1a52-8a3b-4a7e-9f25-3f0c4f1e2a10",
  actorName: "ci-pipeline",
  action: "stack_label.added",
  resourceType: "stack",
  resourceId: "0b4a7c9e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
  details: { via: "rest", operation: "stacks_add_label", method: "POST", input: `label-${i}`, outcome: "success", status: 201 },
  ipAddress: "10.1.2.3",
  userAgent: "brokkr-sdk/1.4 (rust)",
});

async function writerRate(pool: pg.Pool): Promise<number> {
  const writer = new AuditWriter(pool, new Registry(), { ...DEFAULT_WRITER_OPTIONS, capacity: ENTRIES });
  const started = performance.now();
  for (let i = 0; i < ENTRIES; i++) writer.record(entry(i));
  await writer.flush();
  const seconds = (performance.now() - started) / 1000;
  await writer.stop(1000);
  return ENTRIES / seconds;
}

async function plainInsertRate(pool: pg.Pool): Promise<number> {
  await pool.query("CREATE TABLE audit_bench (LIKE audit_logs INCLUDING ALL)");
  const rows = chainRows(
    Array.from({ length: ENTRIES }, (_, i) => entry(i)),
    new Map(),
    0n,
    GENESIS_HASH,
  );
  const client = await pool.connect();
  try {
    const started = performance.now();
    for (let i = 0; i < rows.length; i += BATCH) await insertRows(client, rows.slice(i, i + BATCH), "audit_bench");
    return ENTRIES / ((performance.now() - started) / 1000);
  } finally {
    client.release();
  }
}

async function main() {
  const broker = await startBenchBroker("audit");
  const pool = new pg.Pool({ connectionString: broker.databaseUrl, max: 4 });
  try {
    // The limit first, then the writer, then the limit again: drift on a shared machine shows.
    const limitBefore = await plainInsertRate(pool);
    const writer = await writerRate(pool);
    await pool.query("DROP TABLE audit_bench");
    const limitAfter = await plainInsertRate(pool);
    const limit = (limitBefore + limitAfter) / 2;
    console.log(`entries: ${ENTRIES}, batches of ${BATCH}`);
    console.log(`audit writer (chained, one locked transaction per batch): ${writer.toFixed(0)} entries/s`);
    console.log(
      `limit, plain multi-row INSERT of the same rows: ${limit.toFixed(0)} rows/s (${limitBefore.toFixed(0)} before, ${limitAfter.toFixed(0)} after)`,
    );
    console.log(`ratio writer/limit: ${(writer / limit).toFixed(2)}`);
    const client = await pool.connect();
    try {
      const started = performance.now();
      const result = await verifyChain(client);
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `verification: ${result.checked} rows in ${seconds.toFixed(2)} s (${(result.checked / seconds).toFixed(0)} rows/s), intact: ${result.ok}`,
      );
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
    await broker.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
