import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, inject, it, vi } from "vitest";
import { withDatabase } from "../../test/global-setup.js";
import { createTestDatabase } from "../../test/db.js";

// Counts runs of the Prisma CLI (the ~10 s idle step of every start, issue 7) without changing them.
const spawned = vi.hoisted(() => ({ count: 0 }));
vi.mock("node:child_process", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:child_process")>();
  return { ...actual, spawn: (...args: Parameters<typeof actual.spawn>) => (spawned.count++, actual.spawn(...args)) };
});
const { migrateDatabase } = await import("./migrate.js");

describe("migrating at start", () => {
  const serverUrl = inject("testServerUrl");
  const name = `brokkr_fresh_${randomBytes(4).toString("hex")}`;
  afterAll(async () => {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  });

  it("runs no Prisma CLI when nothing is pending, and runs it once for a fresh database", async () => {
    const migrated = await createTestDatabase();
    spawned.count = 0;
    await migrateDatabase(migrated.url);
    expect(spawned.count).toBe(0);

    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    await c.query(`CREATE DATABASE ${name}`);
    await c.end();
    await migrateDatabase(withDatabase(serverUrl, name));
    expect(spawned.count).toBe(1);
    spawned.count = 0;
    await migrateDatabase(withDatabase(serverUrl, name));
    expect(spawned.count).toBe(0);
  }, 120_000);
});
