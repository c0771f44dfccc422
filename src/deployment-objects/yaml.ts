import { createHash } from "node:crypto";
import { LineCounter, parseAllDocuments } from "yaml";
import { badInput } from "../errors.js";

export function sha256Hex(content: string): string {
  return createHash("sha256").update(content, "utf8").digest("hex");
}

/**
 * Rejects content that is not valid (multi-document) YAML, naming the parser's line and column,
 * and content whose documents are not mappings (Kubernetes objects).
 */
export function validateManifestYaml(content: string, field = "yamlContent"): void {
  if (content.trim().length === 0) throw badInput(field, `${field} must not be empty`);
  // Without prettyErrors the parser leaves linePos unset; the line counter supplies it.
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(content, { prettyErrors: false, lineCounter });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const error = doc.errors[0];
    if (error) {
      const pos = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
      const where = pos ? ` at line ${pos.line}, column ${pos.col}` : "";
      throw badInput(field, `invalid YAML${where}: ${error.message.split("\n")[0]}`);
    }
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (value !== null && value !== undefined && (typeof value !== "object" || Array.isArray(value))) {
      throw badInput(field, "each YAML document must be a mapping (a Kubernetes object)");
    }
  }
}
