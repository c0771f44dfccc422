import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Applies pending migrations with `prisma migrate deploy` (JS engine, see prisma.config.ts).
 * The CLI is the single migration runner, so what tests, `npm start` and CI apply is the same.
 */
export async function migrateDatabase(databaseUrl: string): Promise<void> {
  const prismaBin = path.join(projectRoot, "node_modules", ".bin", "prisma");
  try {
    await run(prismaBin, ["migrate", "deploy"], {
      cwd: projectRoot,
      env: { ...process.env, BROKKR__DATABASE__URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: "1" },
      timeout: 120_000,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`prisma migrate deploy failed: ${(e.stderr || e.stdout || String(err)).trim()}`);
  }
}
