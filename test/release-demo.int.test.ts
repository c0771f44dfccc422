import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";

/** `npm run demo:release` as CI runs it (CI set: it stops by itself), on its own embedded PostgreSQL. */
describe("npm run demo:release", () => {
  it("walks the release from dev to prod, refuses self-approval, verifies the evidence and shows the stickers", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, CI: "1" };
    delete env.BROKKR__DATABASE__URL;
    const child = spawn(process.execPath, ["--import", "tsx", "bench/release-demo.ts"], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code, output).toBe(0);
    expect(output).toMatch(/dev: DEPLOYED\n {2}batch 0 {2}dev-1 {2}SUCCEEDED/);
    expect(output).toMatch(/staging: DEPLOYED/);
    expect(output).toContain("alice approving her own request is refused (FORBIDDEN)");
    expect(output).toMatch(
      /prod: DEPLOYED\n {2}batch 0 {2}prod-1 {2}SUCCEEDED\n {2}batch 1 {2}prod-2 {2}SUCCEEDED\n {2}batch 2 {2}prod-3 {2}SUCCEEDED/,
    );
    expect(output).toMatch(/evidence verified offline: 5 of 5 packets/);
    expect(output).toContain("a tampered export is caught: JOB_COMPLETED");
    expect(output.match(/version sticker on prod-\d: shop-2026\.12 \w+… drift false/g)).toHaveLength(3);
    expect(output).not.toMatch(/^\s+at /m);
  }, 180_000);
});
