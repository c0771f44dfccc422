import { createHash, randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import fs from "node:fs";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { createTestDatabase, type TestDatabase } from "../../test/db.js";
import { withDatabase } from "../../test/global-setup.js";
import { importFromBrokkr, type ImportSummary } from "./brokkr-import.js";

// A Brokkr database as Brokkr's own migrations and API leave it (test/fixtures/brokkr-schema.sql),
// imported into a fresh one of ours; then Brokkr's keys are used against a broker on the copy.
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const BROKKR_DEV_PAK_HASH = sha256("GK3QN7CDUzYc6iKgMkJ98M2WSimM5t6U8");
const GENERATOR_PAK = "brokkr_BR7kQ2mX_9xYtR4vB8nC3wZ5pL6sD2fG7hJ1kM9qW3e";
const AGENT_PAK = "brokkr_BR4hN8pT_2aS5dF7gH9jK3lZ6xC8vB1nM4qW7eR2tYu";
const hashOfPak = (pak: string) => sha256(pak.split("_")[2]!);
const uuid = () => crypto.randomUUID();
const ids = { gen: uuid(), system: uuid(), oldGen: uuid(), a1: uuid(), a2: uuid(), s1: uuid(), s2: uuid(), s3: uuid() };
const objects = { s1a: uuid(), s2a: uuid(), s1b: uuid(), s3a: uuid(), s3marker: uuid() };
const yaml = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

let source: pg.Pool;
let sourceUrl: string;
let target: TestDatabase;
let first: ImportSummary;

async function createBrokkrDatabase() {
  const server = inject("testServerUrl");
  const name = `brokkr_src_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  afterAll(async () => {
    await source.end();
    const c = new pg.Client({ connectionString: server });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  });
  sourceUrl = withDatabase(server, name);
  source = new pg.Pool({ connectionString: sourceUrl, max: 2 });
  await source.query(fs.readFileSync(new URL("../../test/fixtures/brokkr-schema.sql", import.meta.url), "utf8"));
}

async function seedBrokkr() {
  const q = (sql: string, params: unknown[] = []) => source.query(sql, params);
  await q("INSERT INTO admin_role (pak_hash) VALUES ($1)", [BROKKR_DEV_PAK_HASH]);
  await q(
    `INSERT INTO generators (id, name, pak_hash, is_system, deleted_at) VALUES
       ($1, 'ci', $4, false, NULL), ($2, '__system__', NULL, true, NULL), ($3, 'old', '', false, now())`,
    [ids.gen, ids.system, ids.oldGen, hashOfPak(GENERATOR_PAK)],
  );
  await q(
    `INSERT INTO agents (id, name, cluster_name, status, pak_hash) VALUES
       ($1, 'a1', 'prod-eu', 'ACTIVE', $3), ($2, 'a2', 'lab', 'paused', '')`,
    [ids.a1, ids.a2, hashOfPak(AGENT_PAK)],
  );
  await q("INSERT INTO agent_labels (agent_id, label) VALUES ($1, 'prod')", [ids.a1]);
  await q("INSERT INTO agent_annotations (agent_id, key, value) VALUES ($1, 'region', 'eu')", [ids.a1]);
  await q(
    `INSERT INTO stacks (id, name, generator_id, deleted_at) VALUES
       ($1, 'web', $4, NULL), ($2, 'db', $4, NULL), ($3, 'gone', $4, now())`,
    [ids.s1, ids.s2, ids.s3, ids.gen],
  );
  await q("INSERT INTO stack_labels (stack_id, label) VALUES ($1, 'prod')", [ids.s1]);
  await q("INSERT INTO stack_annotations (stack_id, key, value) VALUES ($1, 'tier', 'data')", [ids.s2]);
  await q("INSERT INTO agent_targets (agent_id, stack_id) VALUES ($1, $2)", [ids.a1, ids.s2]);
  await q("INSERT INTO agent_generator_registrations (agent_id, generator_id) VALUES ($1, $2)", [ids.a1, ids.gen]);
  // Brokkr's sequence order, with the stack deletion's marker (md5 checksum) last.
  for (const [id, stack, content] of [
    [objects.s1a, ids.s1, yaml("web-1")],
    [objects.s2a, ids.s2, yaml("db-1")],
    [objects.s1b, ids.s1, yaml("web-2")],
    [objects.s3a, ids.s3, yaml("gone-1")],
  ] as const) {
    // As Brokkr's stack soft delete leaves them: the deleted stack's objects are soft-deleted too.
    await q(
      "INSERT INTO deployment_objects (id, stack_id, yaml_content, yaml_checksum, deleted_at) VALUES ($1, $2, $3, $4, $5)",
      [id, stack, content, sha256(content), stack === ids.s3 ? new Date() : null],
    );
  }
  await q(
    "INSERT INTO deployment_objects (id, stack_id, yaml_content, yaml_checksum, is_deletion_marker) VALUES ($1, $2, '', md5(''), true)",
    [objects.s3marker, ids.s3],
  );
  await q(
    "INSERT INTO agent_events (agent_id, deployment_object_id, event_type, status, message) VALUES ($1, $2, 'DEPLOY', 'success', 'applied'), ($1, $3, 'DEPLOY', 'UNKNOWN', 'x')",
    [ids.a1, objects.s2a, objects.s1a],
  );
}

beforeAll(async () => {
  await createBrokkrDatabase();
  await seedBrokkr();
  target = await createTestDatabase();
  first = await importFromBrokkr(sourceUrl, target.url, 2);
});

const copied = (summary: ImportSummary) => Object.fromEntries(summary.tables.map((t) => [t.table, t.copied]));

describe("npm run import:brokkr", () => {
  it("copies every row it understands and says so per table", () => {
    expect(copied(first)).toEqual({
      generators: 3,
      agents: 2,
      stacks: 3,
      agent_labels: 1,
      agent_annotations: 1,
      stack_labels: 1,
      stack_annotations: 1,
      agent_generator_registrations: 1,
      agent_targets: 1,
      deployment_objects: 5,
      agent_events: 1,
    });
    expect(first.adminPakHash).toBe("copied");
  });

  it("keeps ids, key hashes and the order of deployment objects, and stores markers with our checksum", async () => {
    const { rows } = await target.sql.query<{
      id: string;
      yaml_checksum: string;
      is_deletion_marker: boolean;
      generator_id: string;
    }>("SELECT id, yaml_checksum, is_deletion_marker, generator_id FROM deployment_objects ORDER BY sequence_id");
    expect(rows.map((r) => r.id)).toEqual([objects.s1a, objects.s2a, objects.s1b, objects.s3a, objects.s3marker]);
    expect(rows.at(-1)).toMatchObject({ is_deletion_marker: true, yaml_checksum: sha256("") });
    expect(new Set(rows.map((r) => r.generator_id))).toEqual(new Set([ids.gen]));
    const agents = await target.sql.query("SELECT id, status, pak_hash FROM agents ORDER BY name");
    expect(agents.rows).toEqual([
      { id: ids.a1, status: "ACTIVE", pak_hash: hashOfPak(AGENT_PAK) },
      { id: ids.a2, status: "INACTIVE", pak_hash: null },
    ]);
    const targets = await target.sql.query("SELECT agent_id, stack_id, requires_registration FROM agent_targets");
    expect(targets.rows).toEqual([{ agent_id: ids.a1, stack_id: ids.s2, requires_registration: true }]);
    const admin = await target.sql.query("SELECT value FROM broker_settings WHERE key = 'admin_pak_hash'");
    expect(admin.rows).toEqual([{ value: BROKKR_DEV_PAK_HASH }]);
  });

  it("copies nothing on a second run", async () => {
    const again = await importFromBrokkr(sourceUrl, target.url, 2);
    expect(Object.values(copied(again)).every((n) => n === 0)).toBe(true);
    expect(again.tables.map((t) => t.read)).toEqual(first.tables.map((t) => t.read));
    expect(again.adminPakHash).toBe("kept existing");
  });

  describe("a broker on the imported database", () => {
    let broker: TestBroker;
    beforeAll(async () => {
      broker = await startTestBroker({}, target);
    });

    it("serves Brokkr's agent its target state with the key Brokkr issued", async () => {
      const res = await fetch(`${broker.url}/api/v1/agents/${ids.a1}/target-state?mode=full`, {
        headers: { authorization: AGENT_PAK },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { id: string }[];
      expect(body.map((o) => o.id).sort()).toEqual([objects.s1b, objects.s2a].sort());
    });

    it("lets Brokkr's generator list its live stacks with the key Brokkr issued", async () => {
      const result = await broker.gql<{ stacks: { edges: { node: { id: string } }[] } }>(
        "{ stacks { edges { node { id } } } }",
        {},
        GENERATOR_PAK,
      );
      expect(result.data?.stacks.edges.map((e) => e.node.id).sort()).toEqual([ids.s1, ids.s2].sort());
    });
  });

  it("prints a per-table summary from the command line and exits 0", async () => {
    const { stdout } = await promisify(execFile)("npx", ["tsx", "src/cli/import-brokkr.ts", sourceUrl, "--to", target.url], {
      env: { ...process.env, BROKKR__LOG__LEVEL: "silent" },
    });
    expect(stdout).toMatch(/^deployment_objects\s+0 copied of 5 \(5 already here or skipped\)$/m);
    expect(stdout).toContain("admin PAK hash: kept existing");
  });

  it("refuses a missing source argument with its usage and exit code 2", async () => {
    await expect(promisify(execFile)("npx", ["tsx", "src/cli/import-brokkr.ts"])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("usage:"),
    });
  });
});
