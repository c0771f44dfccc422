import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { moduleLogger } from "../logger.js";

const log = moduleLogger("migrate");

/** The folder holding prisma/migrations: two levels up from src/db, one from dist/ (the bundle). */
export function projectRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "prisma", "migrations"))) return dir;
  }
  throw new Error(`no prisma/migrations folder above ${from}`);
}

/** Migration folders not recorded as applied (all of them when the table does not exist yet). */
export async function pendingMigrations(databaseUrl: string, root = projectRoot()): Promise<string[]> {
  const dir = path.join(root, "prisma", "migrations");
  const wanted = fs
    .readdirSync(dir)
    .filter((name) => fs.existsSync(path.join(dir, name, "migration.sql")))
    .sort();
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  client.on("error", () => {}); // a connection lost after the query has no one to tell
  await client.connect();
  try {
    const { rows } = await client.query<{ migration_name: string }>(
      "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
    );
    const applied = new Set(rows.map((r) => r.migration_name));
    return wanted.filter((name) => !applied.has(name));
  } catch (err) {
    if (err instanceof pg.DatabaseError && err.code === "42P01") return wanted;
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}

// What `prisma migrate deploy` prints once its work is done and recorded.
const DONE = /All migrations have been successfully applied|No pending migrations to apply/;

/**
 * Applies pending migrations with `prisma migrate deploy` (JS engine, see prisma.config.ts).
 * The CLI is the single migration runner, so what tests, `npm start` and CI apply is the same.
 *
 * With nothing pending (every start but the first) the CLI is not run at all: one query instead
 * of ~12 s. When it runs, its WASM schema engine leaves the 10 s timer of its advisory-lock
 * timeout pending after the lock is taken, so the process idles 10 s after finishing; it is
 * ended once it has printed its result (migrations are committed and recorded by then, and
 * PostgreSQL releases the session's advisory lock when the connection closes).
 */
export async function migrateDatabase(databaseUrl: string, schema?: string): Promise<void> {
  const root = projectRoot();
  const pending = await pendingMigrations(databaseUrl, root);
  if (pending.length === 0) {
    log.info("no pending migrations");
    return;
  }
  log.info({ pending }, "applying migrations");
  await runMigrateDeploy(databaseUrl, root, schema);
}

function runMigrateDeploy(databaseUrl: string, root: string, schema: string | undefined): Promise<void> {
  const prismaBin = path.join(root, "node_modules", ".bin", "prisma");
  const child = spawn(prismaBin, ["migrate", "deploy"], {
    cwd: root,
    env: {
      ...process.env,
      BROKKR__DATABASE__URL: databaseUrl,
      // prisma.config.ts hands it to the adapter, which records migrations in that schema.
      BROKKR__DATABASE__SCHEMA: schema ?? "",
      PRISMA_HIDE_UPDATE_MESSAGE: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (DONE.test(stdout)) child.kill("SIGTERM");
    });
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`prisma migrate deploy could not run: ${err.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0 || DONE.test(stdout)) resolve();
      else reject(new Error(`prisma migrate deploy failed: ${cliError(stderr || stdout) || `exit ${code}`}`));
    });
  });
}

/** The CLI's error in one line: from its "Error: Pxxxx" line on, not its banner. */
function cliError(output: string): string {
  const lines = output
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const at = lines.findIndex((l) => /^Error\b|error:/i.test(l));
  return lines.slice(Math.max(0, at), Math.max(0, at) + 3).join(" ");
}
