import { readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { formatReport, verifyFiles } from "../../evidence/verify-files.js";
import type { BrokerClient } from "./client.js";
import { CliError } from "./session.js";

/** `brokkr evidence export <promotion-id>` and `brokkr evidence verify <file>` (offline). */
export function registerEvidenceCommands(program: Command, client: () => BrokerClient): void {
  const evidence = program.command("evidence").description("signed evidence of promotions");
  evidence
    .command("export <promotion-id>")
    .description("a promotion's evidence (promotion, packets, public keys) as JSON, to verify offline")
    .option("--out <file>", "write to this file instead of standard output")
    .action(async (id: string, opts: { out?: string }) => {
      const { promotionEvidenceExport } = await client().query<{ promotionEvidenceExport: unknown }>(
        "query($id: ID!) { promotionEvidenceExport(promotionId: $id) }",
        { id },
      );
      const text = `${JSON.stringify(promotionEvidenceExport, null, 2)}\n`;
      if (opts.out) writeFileSync(opts.out, text);
      else process.stdout.write(text);
    });
  evidence
    .command("verify <file>")
    .description("verify an export offline: exit 0 when every packet verifies, 1 naming each tampered one")
    .option("--keys <file>", "trusted public keys (the evidenceSigningKeys answer) instead of the export's own")
    .action((file: string, opts: { keys?: string }) => {
      const report = verifyFiles(readFileSync, file, opts.keys);
      process.stdout.write(`${formatReport(report)}\n`);
      if (report.failures.length > 0) throw new CliError(`${report.failures.length} tampered packet(s)`, 1);
    });
}
