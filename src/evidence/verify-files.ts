import { type EvidenceExport, type ExportReport, type PublicKeyEntry, verifyExport } from "./verify.js";

type ReadFile = (path: string, encoding: "utf8") => string;

/** Reads an export (and optionally trusted keys: a list, or `{evidenceSigningKeys: [...]}`) and verifies it. */
export function verifyFiles(read: ReadFile, exportPath: string, keysPath?: string): ExportReport {
  const data = JSON.parse(read(exportPath, "utf8")) as EvidenceExport;
  const keys = keysPath ? trustedKeys(JSON.parse(read(keysPath, "utf8"))) : undefined;
  return verifyExport(data, keys);
}

function trustedKeys(value: unknown): PublicKeyEntry[] {
  const list = Array.isArray(value) ? value : (value as { evidenceSigningKeys?: unknown })?.evidenceSigningKeys;
  if (!Array.isArray(list)) throw new Error("keys file: expected a list of {id, publicKeyPem}");
  return list as PublicKeyEntry[];
}

/** One line per failing packet, then the verdict. */
export function formatReport(report: ExportReport): string {
  const lines = report.failures.map((f) => `TAMPERED packet ${f.packetId} (${f.packetType}): ${f.reason}`);
  lines.push(
    report.failures.length === 0
      ? `${report.checked} packet(s) verified`
      : `${report.failures.length} of ${report.checked} packet(s) failed verification`,
  );
  return lines.join("\n");
}
