// npm run audit:verify [-- --database <url>]
// Recomputes the audit log's hash chain (BROKKR__DATABASE__URL, else the embedded default) from
// its base to its head and prints the first broken link. Exit 0: intact; 1: broken; 2: error.
import { parseArgs } from "node:util";
import pg from "pg";
import { verifyChain } from "../audit/service.js";
import { loadConfig } from "../config.js";
import { provisionDatabase } from "../db/provision.js";

const USAGE = "usage: npm run audit:verify [-- --database <url>]";

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { database: { type: "string" }, help: { type: "boolean" } } });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const config = loadConfig(values.database ? { ...process.env, BROKKR__DATABASE__URL: values.database } : process.env);
  const database = await provisionDatabase(config);
  // One client: the whole walk reads one REPEATABLE READ snapshot, and needs no statement timeout.
  const client = new pg.Client({ connectionString: database.url, application_name: "brokkr-audit-verify" });
  await client.connect();
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const result = await verifyChain(client);
    await client.query("COMMIT");
    console.log(`rows checked: ${result.checked}`);
    console.log(`base:         seq ${result.baseSequence}, chains from ${result.basePrevHash}`);
    console.log(`head:         seq ${result.headSequence}, hash ${result.headHash}`);
    if (!result.brokenAt) {
      console.log("chain intact");
      return 0;
    }
    const { seq, id, reason } = result.brokenAt;
    console.log(`BROKEN at seq ${seq}${id ? ` (row ${id})` : ""}: ${reason}`);
    return 1;
  } finally {
    await client.end();
    await database.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`audit:verify failed: ${err.message}`);
    process.exit(2);
  },
);
