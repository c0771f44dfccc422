import { parseAllDocuments } from "yaml";
import type { Identity } from "../auth/identity.js";
import type { Database } from "../db/client.js";
import type { CommitHook } from "../delivery/commit-feed.js";
import { createDeploymentObject } from "../deployment-objects/service.js";
import { validateManifestYaml } from "../deployment-objects/yaml.js";
import { BrokkrError } from "../errors.js";
import type { Idempotency } from "../idempotency/service.js";
import { getManagedStack } from "../stacks/service.js";
import { DEFAULT_INPUT_LIMITS, findUncleanText, requireId, type InputLimits } from "../validation.js";
import { renderInWorker, renderRefusal, type RenderResult } from "./rendering/render.js";
import { assertMayUseTemplates, getReadableTemplate } from "./service.js";
import { insertProvenance, tagsMissingFromStack, type TemplateRow } from "./store.js";

/** Largest parameters object, as JSON text. */
export const MAX_PARAMETERS_CHARS = 64 * 1024;

/** JSON Pointer `/a/0/b` as the field `parameters.a.0.b`. */
const parameterField = (pointer: string) =>
  [
    "parameters",
    ...pointer
      .split("/")
      .slice(1)
      .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~")),
  ].join(".");

function checkedParameters(parameters: unknown): unknown {
  const text = JSON.stringify(parameters ?? null);
  if (text.length > MAX_PARAMETERS_CHARS)
    throw new BrokkrError(
      "PAYLOAD_TOO_LARGE",
      `parameters must be at most ${MAX_PARAMETERS_CHARS} characters as JSON`,
      "parameters",
    );
  const unclean = findUncleanText(parameters, "parameters");
  if (unclean)
    throw new BrokkrError(
      "BAD_USER_INPUT",
      `${unclean} must not contain NUL characters or unpaired surrogates`,
      unclean,
      "invalid_parameters",
    );
  return JSON.parse(text);
}

async function assertStackCarriesTemplateTags(db: Database, templateId: string, stackId: string): Promise<void> {
  const missing = await tagsMissingFromStack(db, templateId, stackId);
  const names = [
    ...missing.labels.map((l) => `label '${l}'`),
    ...missing.annotations.map((a) => `annotation '${a.key}=${a.value}'`),
  ];
  if (names.length > 0)
    throw new BrokkrError(
      "UNPROCESSABLE_ENTITY",
      `the stack lacks the template's ${names.join(", ")}`,
      "stackId",
      "template_stack_mismatch",
    );
}

function assertRendered(result: RenderResult): string {
  if (result.kind === "rendered") return result.output;
  if (result.kind === "failed") throw renderRefusal(`the template failed to render: ${result.message}`);
  const [first] = result.errors;
  const phrases = result.errors.map((e) => `${parameterField(e.path)} ${e.message} (${e.rule})`);
  throw new BrokkrError(
    "BAD_USER_INPUT",
    `invalid parameters: ${phrases.join("; ")}`,
    first ? parameterField(first.path) : "parameters",
    "invalid_parameters",
  );
}

/** The rendered text must be multi-document YAML whose every document has `apiVersion` and `kind`. */
function assertManifest(output: string, limits: InputLimits): void {
  const refuse = (message: string) => renderRefusal(`the rendered manifest ${message}`);
  try {
    validateManifestYaml(output, limits, "rendered");
  } catch (err) {
    if (err instanceof BrokkrError && err.code === "PAYLOAD_TOO_LARGE") throw err;
    throw refuse(`is not valid: ${err instanceof Error ? err.message : String(err)}`);
  }
  const docs = parseAllDocuments(output, { uniqueKeys: false });
  for (const [i, doc] of (Array.isArray(docs) ? docs : [docs]).entries()) {
    const value = doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown> | null;
    if (value === null || value === undefined) continue;
    for (const key of ["apiVersion", "kind"])
      if (typeof value[key] !== "string" || value[key] === "")
        throw refuse(`document ${i + 1} (from line ${doc.range ? lineOf(output, doc.range[0]) : 1}) has no '${key}'`);
  }
}

const lineOf = (text: string, offset: number) => text.slice(0, offset).split("\n").length;

/**
 * The one render path (instantiation and releases, src/releases/render.ts): bounded parameters,
 * the worker render, and the manifest check. Returns the checked parameters and the YAML.
 */
export async function renderTemplate(
  template: Pick<TemplateRow, "templateContent" | "parametersSchema">,
  rawParameters: unknown,
  limits: InputLimits,
): Promise<{ parameters: unknown; output: string }> {
  const parameters = checkedParameters(rawParameters);
  const output = assertRendered(
    await renderInWorker({
      body: template.templateContent,
      schema: template.parametersSchema,
      parameters,
      maxOutputChars: limits.maxYamlBytes,
      timeoutMs: limits.templateRenderTimeoutMs ?? 5000,
      maxConcurrent: limits.maxConcurrentRenders ?? 4,
    }),
  );
  assertManifest(output, limits);
  return { parameters, output };
}

/**
 * Renders a template into a new deployment object of the stack. Order: the caller may write
 * the stack, may read the template, the stack carries the template's labels and annotations;
 * only then the (bounded) render, the manifest check, and the object, created by the
 * deployment-object service (delivery, limits, idempotency) with its provenance in its
 * transaction.
 */
export async function instantiateTemplate(
  db: Database,
  identity: Identity,
  input: { stackId: string; templateId: string; parameters: unknown },
  committed: CommitHook,
  opts: { limits?: InputLimits; idempotency?: Idempotency } = {},
) {
  assertMayUseTemplates(identity);
  const limits = opts.limits ?? DEFAULT_INPUT_LIMITS;
  const stack = await getManagedStack(db, identity, requireId("stackId", input.stackId), "stackId");
  const template = await getReadableTemplate(db, identity, input.templateId, "templateId");
  await assertStackCarriesTemplateTags(db, template.id, stack.id);
  const { parameters, output } = await renderTemplate(template, input.parameters, limits);
  return createDeploymentObject(db, identity, { stackId: stack.id, yamlContent: output }, committed, {
    limits,
    idempotency: opts.idempotency,
    alongside: (tx, object) => insertProvenance(tx, { deploymentObjectId: object.id, template, parameters }),
  });
}
