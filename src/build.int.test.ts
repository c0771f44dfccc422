import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { createTestDatabase } from "../test/db.js";
import { BROKER_NODE_FLAGS } from "./run-flags.js";

const root = path.resolve(import.meta.dirname, "..");

describe("the compiled broker (npm run build:broker, what docker/Dockerfile.broker ships)", () => {
  it("starts under plain node, answers /healthz, and exits 0 on SIGTERM within the shutdown budget", async () => {
    await promisify(execFile)("npm", ["run", "--silent", "build:broker"], { cwd: root });
    const db = await createTestDatabase();
    const child = spawn(process.execPath, [...BROKER_NODE_FLAGS, path.join(root, "dist/broker/broker.mjs")], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        BROKKR__DATABASE__URL: db.url,
        BROKKR__BROKER__PORT: "0",
        BROKKR__BROKER__HOST: "127.0.0.1",
        BROKKR__BROKER__SHUTDOWN_TIMEOUT_MS: "2000",
        BROKKR__LOG__LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += String(d)));
    child.stderr.on("data", (d) => (out += String(d)));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      await expect.poll(() => /ready: (http:\/\/[^/\s]+)/.test(out), { timeout: 60_000, interval: 100 }).toBe(true);
      const url = /ready: (http:\/\/[^/\s]+)/.exec(out)![1]!;
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    } finally {
      child.kill("SIGTERM");
    }
    // main.ts forces exit 1 once the budget (+5 s) has passed: 0 means it stopped in time.
    expect(await exited).toBe(0);
  }, 120_000);

  it("is started by docker/Dockerfile.broker with the flags it is tested and benchmarked with", () => {
    const dockerfile = fs.readFileSync(path.join(root, "docker/Dockerfile.broker"), "utf8");
    const cmd = ["node", "--enable-source-maps", ...BROKER_NODE_FLAGS, "dist/broker/broker.mjs"];
    expect(dockerfile).toContain(`CMD ${JSON.stringify(cmd).replaceAll('","', '", "')}`);
  });
});
