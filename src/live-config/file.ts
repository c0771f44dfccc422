import fs from "node:fs";
import path from "node:path";
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";

/** The largest configuration file read; a config is a few hundred bytes, never megabytes. */
const MAX_CONFIG_FILE_BYTES = 256 * 1024;

export class ConfigFileError extends Error {}

/**
 * Reads a configuration file (TOML as Brokkr's `default.toml`, or YAML/JSON by extension) and
 * flattens it into the `BROKKR__SECTION__KEY` names the environment uses, so one schema checks
 * both: `[cors] allowed_origins = ["a", "b"]` becomes `BROKKR__CORS__ALLOWED_ORIGINS=a,b`.
 */
export function readConfigFile(file: string): Record<string, string> {
  let text: string;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_CONFIG_FILE_BYTES) throw new ConfigFileError(`${file} is larger than ${MAX_CONFIG_FILE_BYTES} bytes`);
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if (err instanceof ConfigFileError) throw err;
    throw new ConfigFileError(`${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  let parsed: unknown;
  try {
    parsed = parseByExtension(file, text);
  } catch (err) {
    throw new ConfigFileError(`${file} is not valid ${formatOf(file)}: ${firstLine(err)}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed))
    throw new ConfigFileError(`${file} must hold sections of settings, e.g. [log] level = "info"`);
  const flat: Record<string, string> = {};
  flatten(parsed as Record<string, unknown>, ["BROKKR"], flat, file);
  return flat;
}

function formatOf(file: string): "TOML" | "YAML" | "JSON" {
  const ext = path.extname(file).toLowerCase();
  if (ext === ".yaml" || ext === ".yml") return "YAML";
  if (ext === ".json") return "JSON";
  return "TOML";
}

function parseByExtension(file: string, text: string): unknown {
  const format = formatOf(file);
  if (format === "YAML") return parseYaml(text, { maxAliasCount: 10 });
  if (format === "JSON") return JSON.parse(text);
  return parseToml(text);
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
}

function flatten(value: Record<string, unknown>, prefix: string[], out: Record<string, string>, file: string): void {
  for (const [key, child] of Object.entries(value)) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(key)) throw new ConfigFileError(`${file}: "${key}" is not a setting name`);
    const name = [...prefix, key.toUpperCase()];
    if (child !== null && typeof child === "object" && !Array.isArray(child) && !(child instanceof Date)) {
      flatten(child as Record<string, unknown>, name, out, file);
    } else {
      out[name.join("__")] = Array.isArray(child) ? child.map(String).join(",") : String(child);
    }
  }
}
