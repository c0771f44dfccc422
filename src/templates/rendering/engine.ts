import { createRequire } from "node:module";
import nunjucks from "nunjucks";
import type { ErrorObject } from "ajv";
import { BrokkrError, badInput } from "../../errors.js";

/*
 * The template language (nunjucks, Jinja-style like Brokkr's Tera) and the parameter schemas
 * (JSON Schema through ajv). This file only parses and compiles, on the main thread; templates
 * run in a worker (render.ts), bounded in time and memory.
 */

/** Largest template body and parameter schema, in characters. */
export const MAX_TEMPLATE_CHARS = 128 * 1024;
export const MAX_SCHEMA_CHARS = 64 * 1024;

const require = createRequire(import.meta.url);
/** Resolved once, so the worker loads the same copies whatever its working directory. */
export const MODULE_PATHS = {
  nunjucks: require.resolve("nunjucks"),
  ajv: require.resolve("ajv"),
  ajvFormats: require.resolve("ajv-formats"),
};

// Only the built-in filters exist; an unknown one is refused when the template is stored.
const FILTERS = new Set(Object.keys((new nunjucks.Environment([]) as unknown as { filters: object }).filters));
// Reading other templates is reading files: refused here, and again by the worker's loader.
const FORBIDDEN_NODES = [
  ["Include", "include"],
  ["Import", "import"],
  ["FromImport", "from … import"],
  ["Extends", "extends"],
] as const;

type AstNode = { lineno: number; colno: number; name?: { value?: string }; findAll(type: unknown): AstNode[] };
const nodes = (nunjucks as unknown as { nodes: Record<string, unknown> }).nodes;
const parser = (nunjucks as unknown as { parser: { parse(src: string): AstNode } }).parser;

const at = (node: { lineno: number; colno: number }) => `line ${node.lineno + 1}, column ${node.colno + 1}`;

/** Refuses a body that does not parse, or that includes, imports or extends anything, naming the line. */
export function checkTemplateBody(body: string, field = "templateContent"): void {
  if (body.length > MAX_TEMPLATE_CHARS) throw badInput(field, `${field} must be at most ${MAX_TEMPLATE_CHARS} characters`);
  let root: AstNode;
  try {
    // Eager compilation runs the lexer, parser and compiler: what a render would meet first.
    new nunjucks.Template(body, new nunjucks.Environment([]), "template", true);
    root = parser.parse(body);
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    const detail = text.replace(/^\(template\)\s*/, "").replace(/\[Line (\d+), Column (\d+)\]\s*/, "at line $1, column $2: ");
    throw new BrokkrError(
      "BAD_USER_INPUT",
      `invalid template ${detail.replace(/\s+/g, " ").trim()}`,
      field,
      "invalid_template_syntax",
    );
  }
  for (const [type, statement] of FORBIDDEN_NODES) {
    const found = root.findAll(nodes[type])[0];
    if (found)
      throw new BrokkrError(
        "BAD_USER_INPUT",
        `templates may not use '${statement}' (at ${at(found)}): they cannot read other templates or files`,
        field,
        "invalid_template_syntax",
      );
  }
  for (const filter of root.findAll(nodes.Filter)) {
    const name = filter.name?.value ?? "";
    if (!FILTERS.has(name))
      throw new BrokkrError("BAD_USER_INPUT", `unknown filter '${name}' at ${at(filter)}`, field, "invalid_template_syntax");
  }
}

let compiler: import("ajv").Ajv | undefined;
/** One ajv for checking schemas; it never loads a `$ref` from anywhere (no loadSchema). */
async function schemaCompiler() {
  if (compiler) return compiler;
  const { Ajv } = await import("ajv");
  const addFormats = (await import("ajv-formats")).default as unknown as (a: import("ajv").Ajv) => void;
  compiler = new Ajv({ strict: false, allErrors: true, addUsedSchema: false });
  addFormats(compiler);
  return compiler;
}

/** Refuses text that is not JSON or not a valid JSON Schema (meta-schema, then compilation). */
export async function checkParametersSchema(text: string, field = "parametersSchema"): Promise<void> {
  const refuse = (message: string) => new BrokkrError("BAD_USER_INPUT", message, field, "invalid_parameters_schema");
  if (text.length > MAX_SCHEMA_CHARS) throw refuse(`${field} must be at most ${MAX_SCHEMA_CHARS} characters`);
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (err) {
    throw refuse(`${field} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof schema !== "boolean" && (typeof schema !== "object" || schema === null || Array.isArray(schema)))
    throw refuse(`${field} must be a JSON Schema object`);
  const ajv = await schemaCompiler();
  if (!(await ajv.validateSchema(schema as object))) throw refuse(`${field} is not a valid JSON Schema: ${describe(ajv.errors)}`);
  try {
    ajv.compile(schema as object);
  } catch (err) {
    throw refuse(`${field} is not a valid JSON Schema: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** ajv errors as "path rule" phrases, at most five. */
export function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || "(root)"} ${e.message ?? e.keyword}`)
    .join("; ");
}
