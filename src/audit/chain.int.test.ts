import { execFile } from "node:child_process";
import { promisify } from "node:util";
import pg from "pg";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import type { AuditEntry } from "./entry.js";
import { AUDIT_RETENTION_TASK } from "./retention.js";
import { verifyChain } from "./service.js";
import { AuditWriter, DEFAULT_WRITER_OPTIONS } from "./writer.js";

/*
 * The log is append-only (triggers) and tamper-evident (the hash chain): edits made around the
 * triggers, as a superuser can, are found by verification; retention deletes only old rows and
 * verification then starts from the first row kept.
 */
let broker: TestBroker;
const q = async (sql: string, params: unknown[] = []) => (await broker.db.sql.query(sql, params)).rows;

const DAY = 86_400_000;
const entry = (action: string, daysAgo = 0): AuditEntry => ({
  at: new Date(Date.now() - daysAgo * DAY),
  actorType: "system",
  actorId: null,
  action,
  resourceType: "system",
  resourceId: null,
  details: { n: action },
  ipAddress: null,
  userAgent: null,
});
async function record(...entries: AuditEntry[]) {
  for (const e of entries) broker.app.audit.record(e);
  await broker.app.audit.flush();
}
const verify = async () =>
  (
    await broker.gql(
      `{ verifyAuditLog { ok complete checked baseSequence headSequence headHash brokenAt { sequence entryId reason } } }`,
    )
  ).data?.verifyAuditLog;
/** Runs `sql` on one row with the append-only trigger off (as a superuser could), then undoes it. */
async function aroundTrigger(sql: string, params: unknown[]) {
  await q("ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_append_only");
  try {
    await q(sql, params);
  } finally {
    await q("ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_append_only");
  }
}
const newest = async () => (await q("SELECT * FROM audit_logs ORDER BY seq DESC LIMIT 1"))[0];

beforeAll(async () => {
  broker = await startTestBroker();
  // The oldest rows first: retention deletes a prefix of the chain.
  await record(entry("old.one", 200), entry("old.two", 100));
  await record(entry("a.created"), entry("b.created"), entry("c.created"));
});

describe("append-only triggers", () => {
  it("refuses UPDATE, DELETE and TRUNCATE of audit rows", async () => {
    await expect(q("UPDATE audit_logs SET action = 'x'")).rejects.toThrow(/append-only/);
    await expect(q("DELETE FROM audit_logs")).rejects.toThrow(/append-only/);
    await expect(q("TRUNCATE audit_logs")).rejects.toThrow(/append-only/);
  });

  it("refuses a retention DELETE of a row younger than its cutoff, or with a cutoff under a day old", async () => {
    const client = await broker.db.sql.connect();
    try {
      await client.query("BEGIN");
      await client.query("SELECT set_config('brokkr.audit_retention', 'on', true)");
      await client.query("SELECT set_config('brokkr.audit_retention_cutoff', (now() - interval '2 days')::text, true)");
      await expect(client.query("DELETE FROM audit_logs")).rejects.toThrow(/only rows older/);
      await client.query("ROLLBACK");
      await client.query("BEGIN");
      await client.query("SELECT set_config('brokkr.audit_retention', 'on', true)");
      await client.query("SELECT set_config('brokkr.audit_retention_cutoff', now()::text, true)");
      await expect(client.query("DELETE FROM audit_logs")).rejects.toThrow(/only rows older/);
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
  });

  it("lets the chain row move only forward, and its base only in the clean-up", async () => {
    await expect(q("UPDATE audit_log_chain SET head_seq = head_seq - 1")).rejects.toThrow(/never moves back/);
    await expect(q("UPDATE audit_log_chain SET base_seq = base_seq + 1")).rejects.toThrow(/only the retention clean-up/);
    await expect(q("DELETE FROM audit_log_chain")).rejects.toThrow(/not allowed/);
  });
});

describe("verification", () => {
  it("finds an intact chain intact, through GraphQL and the CLI", async () => {
    expect(await verify()).toMatchObject({ ok: true, complete: true, brokenAt: null });
    const cli = await promisify(execFile)("npx", ["tsx", "src/cli/audit-verify.ts", "--database", broker.db.url]);
    expect(cli.stdout).toContain("chain intact");
  });

  it("finds a row edited behind the trigger's back, at that row", async () => {
    const row = await newest();
    await aroundTrigger('UPDATE audit_logs SET details = \'{"n": "forged"}\' WHERE seq = $1', [row.seq]);
    expect((await verify()).brokenAt).toEqual({ sequence: row.seq, entryId: row.id, reason: "HASH_MISMATCH" });
    const cli = promisify(execFile)("npx", ["tsx", "src/cli/audit-verify.ts", "--database", broker.db.url]);
    await expect(cli).rejects.toMatchObject({ code: 1, stdout: expect.stringContaining(`BROKEN at seq ${row.seq}`) });
    await aroundTrigger("UPDATE audit_logs SET details = $2 WHERE seq = $1", [row.seq, row.details]);
    expect(await verify()).toMatchObject({ ok: true });
  });

  it("finds a row deleted in the middle and rows deleted at the end", async () => {
    await record(entry("d.created"), entry("e.created"));
    const [middle, last] = await q("SELECT * FROM audit_logs ORDER BY seq DESC LIMIT 2").then((r) => [r[1], r[0]]);
    await aroundTrigger("DELETE FROM audit_logs WHERE seq = $1", [middle.seq]);
    expect((await verify()).brokenAt).toMatchObject({ sequence: middle.seq, reason: "SEQUENCE_GAP" });
    await aroundTrigger("DELETE FROM audit_logs WHERE seq = $1", [last.seq]);
    expect((await verify()).brokenAt).toMatchObject({ sequence: last.seq, reason: "HEAD_MISMATCH" });
    const columns = Object.keys(middle).join(", ");
    const values = Object.keys(middle).map((_, i) => `$${i + 1}`);
    for (const row of [middle, last])
      await q(`INSERT INTO audit_logs (${columns}) VALUES (${values})`, Object.values(row).map(jsonOf));
    expect(await verify()).toMatchObject({ ok: true });
  });

  it("builds one chain from several writers on separate connections (several brokers)", async () => {
    const pools = [0, 1].map(() => new pg.Pool({ connectionString: broker.db.url, max: 2 }));
    const writers = pools.map((p) => new AuditWriter(p, new Registry(), { ...DEFAULT_WRITER_OPTIONS, batchSize: 20 }));
    const before = Number((await q("SELECT count(*) AS n FROM audit_logs"))[0].n);
    for (let i = 0; i < 300; i++) for (const w of writers) w.record(entry(`parallel.${i}`));
    await Promise.all(writers.map((w) => w.stop(60_000)));
    await Promise.all(pools.map((p) => p.end()));
    expect(Number((await q("SELECT count(*) AS n FROM audit_logs"))[0].n)).toBe(before + 600);
    const client = await broker.db.sql.connect();
    try {
      expect(await verifyChain(client)).toMatchObject({ brokenAt: null, checked: before + 600 });
    } finally {
      client.release();
    }
  });
});

describe("retention", () => {
  afterAll(async () => expect(await verify()).toMatchObject({ ok: true }));

  it("deletes the old prefix of the chain, and verification starts at the first row kept", async () => {
    // Old, but after a recent row (another broker's clock): kept, or the chain would have a hole.
    await record(entry("old.late", 300));
    const firstKept = (await q("SELECT seq, prev_hash FROM audit_logs WHERE action = 'a.created'"))[0];
    const outcome = await broker.app.scheduler.runNow(AUDIT_RETENTION_TASK);
    expect(outcome).toMatchObject({ outcome: "ok", handled: 2 });
    expect((await q("SELECT action FROM audit_logs WHERE action LIKE 'old.%'")).map((r) => r.action)).toEqual(["old.late"]);
    expect(await q("SELECT base_seq, base_prev_hash FROM audit_log_chain")).toEqual([
      { base_seq: firstKept.seq, base_prev_hash: firstKept.prev_hash },
    ]);
    expect(await verify()).toMatchObject({ ok: true, baseSequence: firstKept.seq });
  });

  it("keeps the chain going after retention deleted every row", async () => {
    const head = await newest();
    // Back-dating breaks the hashes of every row; retention deletes them all, so the chain is whole again.
    await aroundTrigger("UPDATE audit_logs SET timestamp = timestamp - interval '400 days'", []);
    expect((await broker.app.scheduler.runNow(AUDIT_RETENTION_TASK)).handled).toBeGreaterThan(0);
    expect(await q("SELECT count(*)::int AS n FROM audit_logs")).toEqual([{ n: 0 }]);
    expect(await verify()).toMatchObject({ ok: true, checked: 0, headHash: head.hash });
    await record(entry("after.empty"));
    expect(await verify()).toMatchObject({ ok: true, checked: 1 });
  });

  it("refuses to verify more than a million rows in one request", async () => {
    const res = await broker.gql(`{ verifyAuditLog(maxRows: 2000000) { ok } }`);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "maxRows" });
  });
});

/** pg returns jsonb parsed; sending it back needs it as text. */
function jsonOf(v: unknown) {
  return v !== null && typeof v === "object" && !(v instanceof Date) ? JSON.stringify(v) : v;
}
