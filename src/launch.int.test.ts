import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { mintPak } from "./auth/pak.js";
import { configFrom } from "./config.js";
import { launchBroker } from "./launch.js";

async function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(false)));
    socket.once("error", () => resolve(true));
  });
}

describe("starting on a taken port", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "brokkr-launch-"));
  fs.chmodSync(dir, 0o755); // as root, the postgres user must reach the data folder
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("rejects with one clear line, stops the embedded PostgreSQL it started, and the next start works", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const taken = (blocker.address() as net.AddressInfo).port;
    const embeddedPort = 30000 + Math.floor(Math.random() * 9000);
    const env = {
      BROKKR__DATABASE__EMBEDDED_DIR: path.join(dir, "pgdata"),
      BROKKR__DATABASE__EMBEDDED_PORT: String(embeddedPort),
      BROKKR__BROKER__HOST: "127.0.0.1",
      BROKKR__BROKER__PAK_HASH: mintPak().hash,
      BROKKR__LOG__LEVEL: "silent",
    };
    const failed = await launchBroker(configFrom({ ...env, BROKKR__BROKER__PORT: String(taken) })).catch((err: Error) => err);
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toBe(`port ${taken} on 127.0.0.1 is already in use (set BROKKR__BROKER__PORT)`);
    expect(fs.existsSync(path.join(dir, "pgdata", "postmaster.pid"))).toBe(false);
    expect(await refused(embeddedPort)).toBe(true);

    await new Promise((r) => blocker.close(r));
    const broker = await launchBroker(configFrom({ ...env, BROKKR__BROKER__PORT: String(taken) }));
    expect((await fetch(`${broker.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${broker.url}/readyz`)).status).toBe(200);
    // A second broker on the same embedded folder is refused; the first keeps its server.
    const second = await launchBroker(configFrom({ ...env, BROKKR__BROKER__PORT: "0" })).catch((err: Error) => err);
    expect((second as Error).message).toMatch(/embedded PostgreSQL in .* is in use by another broker/);
    expect((await fetch(`${broker.url}/readyz`)).status).toBe(200);
    await broker.stop();
    expect(fs.existsSync(path.join(dir, "pgdata", "postmaster.pid"))).toBe(false);
  }, 120_000);
});
