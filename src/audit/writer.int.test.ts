import pg from "pg";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { ok, startTestBroker } from "../../test/broker.js";
import { metricValue } from "../../test/brokkr-agent.js";
import { createAgent } from "../../test/factories.js";
import { mintPak } from "../auth/pak.js";
import type { AuditEntry } from "./entry.js";
import { verifyChain } from "./service.js";
import { AuditWriter, DEFAULT_WRITER_OPTIONS } from "./writer.js";

/* The writer stays off the request path: it never blocks one, and loses nothing on a clean stop. */
const entry = (i: number): AuditEntry => ({
  at: new Date(),
  actorType: "system",
  actorId: null,
  action: `test.recorded`,
  resourceType: "system",
  resourceId: null,
  details: { i },
  ipAddress: null,
  userAgent: null,
});
const count = async (sql: pg.Pool, where = "true") =>
  Number((await sql.query(`SELECT count(*) AS n FROM audit_logs WHERE ${where}`)).rows[0].n);
const dropped = (reason: string) => `brokkr_audit_entries_dropped_total{reason="${reason}"}`;

describe("the audit writer", () => {
  it("writes the entries still queued when the broker stops", async () => {
    const broker = await startTestBroker();
    const agent = await createAgent(broker, { activate: true });
    ok(await broker.gql("mutation { heartbeat { agent { id } } }", {}, agent.pak));
    // Fewer than a batch: they would wait for the 1 s timer; stop must not leave them behind.
    for (let i = 0; i < 30; i++) broker.app.audit.record(entry(i));
    expect(broker.app.audit.queued).toBeGreaterThanOrEqual(30);
    await broker.stop();
    expect(await count(broker.db.sql, "action = 'test.recorded'")).toBe(30);
    expect(await count(broker.db.sql, "action = 'heartbeat.recorded'")).toBe(1);
  });

  it("answers requests while the log cannot be written, dropping and counting what overflows its queue", async () => {
    const broker = await startTestBroker({ BROKKR__BROKER__AUDIT_QUEUE_CAPACITY: "100" });
    const agent = await createAgent(broker, { activate: true });
    await broker.app.audit.flush();
    // Hold the chain row as another broker's writer would: every batch waits behind it.
    const blocker = await broker.db.sql.connect();
    await blocker.query("BEGIN");
    await blocker.query("SELECT * FROM audit_log_chain FOR UPDATE");
    try {
      // Unauthenticated callers may take a fifth of the queue, not all of it.
      for (let i = 0; i < 30; i++) {
        const res = await fetch(`${broker.url}/api/v1/stacks`, { headers: { authorization: mintPak().pak } });
        expect(res.status).toBe(401);
      }
      const beats = Array.from({ length: 10 }, (_, i) => `b${i}: heartbeat { agent { id } }`).join(" ");
      for (let i = 0; i < 15; i++) ok(await broker.gql(`mutation { ${beats} }`, {}, agent.pak));
      expect(await metricValue(broker, dropped("anonymous_capped"))).toBe(10);
      expect(await metricValue(broker, dropped("queue_full"))).toBe(70);
      expect(broker.app.audit.queued).toBe(100);
    } finally {
      await blocker.query("COMMIT");
      blocker.release();
    }
    await broker.app.audit.flush();
    expect(await count(broker.db.sql, "action = 'auth.failed'")).toBe(20);
    expect(await count(broker.db.sql, "action = 'heartbeat.recorded'")).toBe(80);
    expect(await verifyChain(broker.db.sql)).toMatchObject({ brokenAt: null });
  });

  it("keeps its entries when the database cannot be reached, instead of losing the batch", async () => {
    const pool = new pg.Pool({ connectionString: "postgresql://postgres@127.0.0.1:1/none", connectionTimeoutMillis: 2000 });
    pool.on("error", () => {});
    const writer = new AuditWriter(pool, new Registry(), { ...DEFAULT_WRITER_OPTIONS, batchSize: 5 });
    for (let i = 0; i < 5; i++) writer.record(entry(i));
    await writer.flush();
    expect(writer.queued).toBe(5);
    await writer.stop(0);
    await pool.end();
  });
});
