// npm run evidence:verify -- <export.json> [--keys <keys.json>]
// Verifies offline every packet of a promotion's evidence export (`brokkr evidence export <id>`):
// content hash, Ed25519 signature, and that each packet is its promotion's. --keys takes the
// public keys from a file you trust (the evidenceSigningKeys answer) instead of the export's own.
// Exit 0: every packet verifies; 1: a packet is tampered (named); 2: error.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { formatReport, verifyFiles } from "../evidence/verify-files.js";

const USAGE = "usage: npm run evidence:verify -- <export.json> [--keys <keys.json>]";

function main(): number {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { keys: { type: "string" }, help: { type: "boolean" } },
  });
  if (values.help || positionals.length !== 1) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const report = verifyFiles(readFileSync, positionals[0] as string, values.keys);
  console.log(formatReport(report));
  return report.failures.length === 0 ? 0 : 1;
}

try {
  process.exit(main());
} catch (err) {
  console.error(`evidence:verify failed: ${(err as Error).message}`);
  process.exit(2);
}
