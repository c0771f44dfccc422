import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { withDatabase } from "../test/global-setup.js";

/** Runs `src/main.ts` to its end with `env`; what it printed on stderr and its exit code. */
function runBroker(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: { ...process.env, BROKKR__BROKER__PORT: "0", BROKKR__BROKER__HOST: "127.0.0.1", BROKKR__LOG__LEVEL: "silent", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr += String(d)));
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, stderr })));
}

describe("a start on a database that was never migrated, with BROKKR__DATABASE__MIGRATE=false", () => {
  const serverUrl = inject("testServerUrl");
  const name = `brokkr_unmigrated_${randomBytes(4).toString("hex")}`;
  afterAll(async () => {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  });

  it("exits 1 with one line that says so (Prisma's message starts with an empty line)", async () => {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    await c.query(`CREATE DATABASE ${name}`);
    await c.end();
    const { code, stderr } = await runBroker({
      BROKKR__DATABASE__URL: withDatabase(serverUrl, name),
      BROKKR__DATABASE__MIGRATE: "false",
    });
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toEqual([
      "brokkr: failed to start: the database is not migrated: run `npm run migrate` (or unset BROKKR__DATABASE__MIGRATE=false)",
    ]);
  }, 60_000);
});
