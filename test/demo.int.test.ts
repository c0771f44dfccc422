import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";

/** `npm run demo` as a user runs it: its own process group, so Ctrl-C reaches the embedded PostgreSQL too. */
describe("npm run demo", () => {
  it("prints the agent's SUCCESS report, and Ctrl-C stops it with exit 0 and no stack trace", async () => {
    const env = { ...process.env };
    delete env.BROKKR__DATABASE__URL;
    delete env.CI;
    const child = spawn(process.execPath, ["--import", "tsx", "bench/demo.ts"], {
      detached: true,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const running = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("press Ctrl-C")) resolve();
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.once("exit", (code) => reject(new Error(`the demo ended early (${code}): ${output}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      await running;
    } finally {
      if (child.pid && child.exitCode === null) process.kill(-child.pid, "SIGINT");
    }
    expect(await exited).toBe(0);
    expect(output).toMatch(/agent reported: \[\{"agent":"demo-agent","result":"SUCCESS","sequenceId":"1"/);
    expect(output).not.toMatch(/^\s+at /m);
    expect(output).toContain("stopping");
  }, 120_000);
});
