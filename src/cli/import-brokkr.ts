// npm run import:brokkr -- <brokkr database url> [--to <our database url>]
// Copies a Brokkr database into this broker's (BROKKR__DATABASE__URL, else the embedded default,
// migrated first) and prints what it copied. Safe to run again: it copies only what is missing.
import { parseArgs } from "node:util";
import { loadConfig } from "../config.js";
import { provisionDatabase } from "../db/provision.js";
import { importFromBrokkr } from "../import/brokkr-import.js";

const USAGE = "usage: npm run import:brokkr -- <brokkr database url> [--to <database url>]";

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { to: { type: "string" }, help: { type: "boolean" } },
  });
  const [sourceUrl] = positionals;
  if (values.help || positionals.length !== 1 || !sourceUrl) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const config = loadConfig(values.to ? { ...process.env, BROKKR__DATABASE__URL: values.to } : process.env);
  const database = await provisionDatabase(config);
  try {
    const summary = await importFromBrokkr(sourceUrl, database.url);
    for (const t of summary.tables) {
      console.log(
        `${t.table.padEnd(30)} ${String(t.copied).padStart(7)} copied of ${t.read} (${t.read - t.copied} already here or skipped)`,
      );
    }
    console.log(`admin PAK hash: ${summary.adminPakHash}`);
    return 0;
  } finally {
    await database.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    // One line, no stack: the usual causes are a wrong URL or a database that is not Brokkr's.
    console.error(`import failed: ${err.message}`);
    process.exit(1);
  },
);
