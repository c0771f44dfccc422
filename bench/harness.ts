import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { createApp, type BrokerApp } from "../src/app.js";
import { mintPak } from "../src/auth/pak.js";
import { configFrom } from "../src/config.js";
import { startEmbeddedPostgres } from "../src/db/embedded.js";
import { migrateDatabase } from "../src/db/migrate.js";

export interface BenchBroker {
  url: string;
  databaseUrl: string;
  adminPak: string;
  app: BrokerApp;
  stop(): Promise<void>;
}

/**
 * A broker on a fresh database: on BROKKR__DATABASE__URL's server when set (a new database is
 * created there), else on a throw-away embedded PostgreSQL.
 */
export async function startBenchBroker(label: string, env: Record<string, string> = {}): Promise<BenchBroker> {
  let serverUrl = process.env.BROKKR__DATABASE__URL;
  let stopServer = async () => {};
  if (!serverUrl) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "brokkr-bench-"));
    const embedded = await startEmbeddedPostgres(dir, 21000 + Math.floor(Math.random() * 9000), "postgres");
    serverUrl = embedded.url;
    stopServer = async () => {
      await embedded.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    };
  }
  const dbName = `brokkr_bench_${label}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();
  await migrateDatabase(databaseUrl);
  const pak = mintPak();
  const app = createApp(
    configFrom({
      BROKKR__BROKER__PORT: "0",
      BROKKR__BROKER__HOST: "127.0.0.1",
      BROKKR__BROKER__PAK_HASH: pak.hash,
      BROKKR__LOG__LEVEL: "warn",
      BROKKR__DATABASE__POOL_SIZE: "20",
      BROKKR__BROKER__MAX_QUERY_COST: "1000000",
      ...env,
    }),
    databaseUrl,
  );
  const { url } = await app.start();
  return {
    url,
    databaseUrl,
    adminPak: pak.pak,
    app,
    async stop() {
      try {
        await app.stop();
        const c = new pg.Client({ connectionString: serverUrl });
        // A server shutting down (Ctrl-C reaches an embedded one too) ends the session with an 'error' event.
        c.on("error", () => {});
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
        await c.end();
      } finally {
        await stopServer();
      }
    },
  };
}

export async function gql<T = any>(url: string, pak: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${pak}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (body.errors || body.data === undefined) throw new Error(JSON.stringify(body.errors ?? "no data in the answer"));
  return body.data;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export { yaml2k } from "./payloads.js";
