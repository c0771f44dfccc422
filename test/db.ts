import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, inject } from "vitest";
import { withDatabase } from "./global-setup.js";

export interface TestDatabase {
  url: string;
  /** A plain pg pool for driving triggers by SQL. */
  sql: pg.Pool;
}

/**
 * A fresh, migrated database for this test file (a copy of the run's template), dropped after
 * the file's tests.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = inject("testServerUrl");
  const template = inject("testTemplateDb");
  const name = `${template}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  await admin.end();
  const url = withDatabase(serverUrl, name);
  const sql = new pg.Pool({ connectionString: url, max: 4 });
  // An idle connection ended by the server (a test stopping or killing it) is replaced, not fatal.
  sql.on("error", () => {});
  afterAll(async () => {
    await sql.end();
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  });
  return { url, sql };
}

/** A connection of the test's own that LISTENs on `channel` and keeps each payload, in order. */
export async function listenTo(url: string, channel: string): Promise<{ payloads: string[]; end(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const payloads: string[] = [];
  client.on("notification", (n) => {
    if (n.channel === channel) payloads.push(n.payload ?? "");
  });
  await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
  return { payloads, end: () => client.end() };
}
