import { createHash } from "node:crypto";
import { isMap, isScalar, LineCounter, parseAllDocuments, visit, type Document } from "yaml";
import { BrokkrError, badInput } from "../errors.js";
import { assertCleanText, DEFAULT_INPUT_LIMITS, type InputLimits } from "../validation.js";

export function sha256Hex(content: string): string {
  return createHash("sha256").update(content, "utf8").digest("hex");
}

/** The first line of a parser message: all the caller is shown. */
function firstLine(message: string): string {
  return message.replace(/\n.*$/s, "");
}

/**
 * Rejects content that is not valid (multi-document) YAML, naming the parser's line and column,
 * and content whose documents are not mappings (Kubernetes objects).
 */
export function validateManifestYaml(content: string, limits: InputLimits = DEFAULT_INPUT_LIMITS, field = "yamlContent"): void {
  assertYamlWithinLimits(content, limits, field);
  if (content.trim().length === 0) throw badInput(field, `${field} must not be empty`);
  // Without prettyErrors the parser leaves linePos unset; the line counter supplies it. The
  // parser's own unique-key check is quadratic in a mapping's size (25 s for a 5 MiB ConfigMap),
  // so duplicate keys are found below with a set instead.
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(content, { prettyErrors: false, lineCounter, uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const fail = (offset: number, message: string): never => {
    const pos = lineCounter.linePos(offset);
    throw badInput(field, `invalid YAML at line ${pos.line}, column ${pos.col}: ${message}`);
  };
  for (const doc of list) {
    const error = doc.errors[0];
    if (error) fail(error.pos[0], firstLine(error.message));
    const hasAliases = rejectDuplicateKeys(doc, fail);
    // A mapping without aliases is a Kubernetes object as parsed: building its JS value would
    // only repeat the walk. Aliases need toJS for the alias-count limit and unresolved aliases;
    // a scalar for its resolved value.
    if (!hasAliases && (doc.contents === null || isMap(doc.contents))) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // The parser throws on alias bombs ("excessive alias count") and unresolved aliases.
      throw badInput(field, `invalid YAML: ${firstLine(err instanceof Error ? err.message : String(err))}`);
    }
    if (value !== null && value !== undefined && (typeof value !== "object" || Array.isArray(value))) {
      throw badInput(field, "each YAML document must be a mapping (a Kubernetes object)");
    }
  }
}

/**
 * Linear checks before the parser runs: size in bytes, the text rule, and the number of
 * documents (counted by their `---` markers, an upper bound). A 1 MB stream of a quarter
 * million documents used to block the event loop for seconds inside the parser.
 */
export function assertYamlWithinLimits(content: string, limits: InputLimits, field = "yamlContent"): void {
  const bytes = Buffer.byteLength(content, "utf8");
  if (bytes > limits.maxYamlBytes) {
    throw new BrokkrError(
      "PAYLOAD_TOO_LARGE",
      `${field} is ${bytes} bytes, over the limit of ${limits.maxYamlBytes} (BROKKR__BROKER__MAX_YAML_BYTES)`,
      field,
    );
  }
  assertCleanText(field, content);
  let documents = 1;
  for (let i = content.indexOf("---"); i !== -1; i = content.indexOf("---", i + 3)) {
    if ((i === 0 || content[i - 1] === "\n") && documents++ >= limits.maxYamlDocuments) {
      throw new BrokkrError(
        "PAYLOAD_TOO_LARGE",
        `${field} holds more than ${limits.maxYamlDocuments} YAML documents (BROKKR__BROKER__MAX_YAML_DOCUMENTS)`,
        field,
      );
    }
  }
}

/** Fails on a mapping's repeated scalar key; returns whether the document holds any alias. */
function rejectDuplicateKeys(doc: Document.Parsed, fail: (offset: number, message: string) => never): boolean {
  let hasAliases = false;
  visit(doc, {
    Alias() {
      hasAliases = true;
    },
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (seen.has(key)) fail(pair.key.range?.[0] ?? 0, `map keys must be unique ('${key.slice(0, 64)}' repeats)`);
        seen.add(key);
      }
    },
  });
  return hasAliases;
}
