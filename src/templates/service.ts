import type { Identity } from "../auth/identity.js";
import { inTransaction, type Database, type Db } from "../db/client.js";
import { sha256Hex } from "../deployment-objects/yaml.js";
import { BrokkrError, badInput, fromDatabaseError, notFound } from "../errors.js";
import { encodeCursor, toConnection, type Page } from "../graphql/pagination.js";
import {
  LIMITS,
  optionalText,
  requireAnnotation,
  requireAnnotations,
  requireId,
  requireLabel,
  requireLabels,
  requireText,
} from "../validation.js";
import { checkParametersSchema, checkTemplateBody } from "./rendering/engine.js";
import * as store from "./store.js";
import type { TemplateRow } from "./store.js";

/*
 * Who sees a template: the admin every one; a generator its own and the system ones (owner
 * NULL); agents none. Another generator's template is "not found", as a missing one, so ids
 * leak nothing (Brokkr answered 403 and, before T-0290, let any generator instantiate it).
 */
const agentsRefused = () =>
  new BrokkrError("FORBIDDEN", "agents have no access to templates", undefined, "templates_not_accessible");

export function assertMayUseTemplates(identity: Identity): void {
  if (identity.role === "AGENT") throw agentsRefused();
}

const visibleTo = (identity: Identity, t: TemplateRow) =>
  identity.role === "ADMIN" || (identity.role === "GENERATOR" && (t.generatorId === null || t.generatorId === identity.id));

/** A live template the caller may read and instantiate. */
export async function getReadableTemplate(db: Db, identity: Identity, id: string, field = "id"): Promise<TemplateRow> {
  assertMayUseTemplates(identity);
  const template = await store.findTemplate(db, requireId(field, id));
  if (!template || !visibleTo(identity, template)) throw notFound("template");
  return template;
}

/** A live template the caller may change: the admin any, a generator its own (system ones: FORBIDDEN). */
export async function getManagedTemplate(db: Db, identity: Identity, id: string, field = "id"): Promise<TemplateRow> {
  const template = await getReadableTemplate(db, identity, id, field);
  if (identity.role === "GENERATOR" && template.generatorId !== identity.id)
    throw new BrokkrError("FORBIDDEN", "system templates are changed by the admin only", undefined, "template_not_accessible");
  return template;
}

export interface TemplateContentInput {
  description?: string | null;
  templateContent: string;
  parametersSchema: string;
}

async function checkedBody(input: TemplateContentInput): Promise<store.TemplateBody> {
  const description = optionalText("description", input.description, LIMITS.description);
  checkTemplateBody(input.templateContent);
  await checkParametersSchema(input.parametersSchema);
  return {
    description,
    templateContent: input.templateContent,
    parametersSchema: input.parametersSchema,
    checksum: sha256Hex(input.templateContent),
  };
}

/** An admin's template is a system template; a generator's is its own. */
export async function createTemplate(
  db: Database,
  identity: Identity,
  input: TemplateContentInput & {
    name: string;
    labels?: string[] | null;
    annotations?: { key: string; value: string }[] | null;
  },
) {
  assertMayUseTemplates(identity);
  const name = requireText("name", input.name, LIMITS.name);
  const labels = requireLabels("labels", input.labels);
  const annotations = requireAnnotations("annotations", input.annotations);
  const body = await checkedBody(input);
  const generatorId = identity.role === "GENERATOR" ? identity.id : null;
  const exists = `a template named '${name}' exists; update it to make a new version`;
  try {
    return await inTransaction(db, async (tx) => {
      const template = await store.insertTemplate(tx, { ...body, generatorId, name });
      if (!template) throw new BrokkrError("CONFLICT", exists, "name", "template_exists");
      for (const label of labels) await store.addTemplateLabel(tx, template.id, label);
      for (const a of annotations) await store.setTemplateAnnotation(tx, template.id, a.key, a.value);
      return template;
    });
  } catch (err) {
    throw fromDatabaseError(err, exists);
  }
}

/** A new version (new id, version + 1) of the template's owner and name; `id` may be any live version. */
export async function updateTemplate(db: Database, identity: Identity, input: TemplateContentInput & { id: string }) {
  const base = await getManagedTemplate(db, identity, input.id);
  const body = await checkedBody({
    ...input,
    description: input.description === undefined ? base.description : input.description,
  });
  try {
    return await inTransaction(db, (tx) => store.insertVersion(tx, base, body));
  } catch (err) {
    throw fromDatabaseError(err, "another version of this template was made at the same time; retry");
  }
}

export async function deleteTemplate(db: Database, identity: Identity, id: string) {
  const template = await getManagedTemplate(db, identity, id);
  await store.softDeleteTemplate(db, template.id);
  return { deletedId: template.id };
}

export async function listTemplates(
  db: Database,
  identity: Identity,
  filter: { name?: string | null; generatorId?: string | null; system?: boolean | null },
  page: Page,
) {
  assertMayUseTemplates(identity);
  const f: store.TemplateListFilter = {
    name: filter.name ? requireText("filter.name", filter.name, LIMITS.name) : undefined,
    generatorId: filter.generatorId ? requireId("filter.generatorId", filter.generatorId) : undefined,
    system: filter.system ?? undefined,
  };
  if (identity.role === "GENERATOR") {
    if (f.generatorId && f.generatorId !== identity.id)
      throw badInput("filter.generatorId", "a generator lists only its own and the system templates");
    f.visibleToGenerator = identity.id;
  }
  const rows = await store.listTemplates(db, f, page);
  return toConnection(rows, page.first, (t) => encodeCursor([t.name, t.version, t.id]));
}

const tooManyTags = (field: string, what: string) => badInput(field, `a template carries at most 50 ${what}; remove one first`);

export async function addTemplateLabel(db: Database, identity: Identity, templateId: string, label: string) {
  const value = requireLabel("label", label);
  return inTransaction(db, async (tx) => {
    const template = await getManagedTemplate(tx, identity, templateId, "templateId");
    if (!(await store.addTemplateLabel(tx, template.id, value))) throw tooManyTags("label", "labels");
    return template;
  });
}

export async function removeTemplateLabel(db: Database, identity: Identity, templateId: string, label: string) {
  const value = requireText("label", label, LIMITS.label);
  const template = await getManagedTemplate(db, identity, templateId, "templateId");
  return { template, removed: (await store.removeTemplateLabel(db, template.id, value)).count > 0 };
}

export async function setTemplateAnnotation(
  db: Database,
  identity: Identity,
  input: { templateId: string; key: string; value: string },
) {
  const a = requireAnnotation("annotation", input.key, input.value);
  return inTransaction(db, async (tx) => {
    const template = await getManagedTemplate(tx, identity, input.templateId, "templateId");
    if (!(await store.setTemplateAnnotation(tx, template.id, a.key, a.value))) throw tooManyTags("key", "annotations");
    return template;
  });
}

export async function removeTemplateAnnotation(db: Database, identity: Identity, input: { templateId: string; key: string }) {
  const key = requireText("key", input.key, LIMITS.annotationKey);
  const template = await getManagedTemplate(db, identity, input.templateId, "templateId");
  return { template, removed: (await store.removeTemplateAnnotation(db, template.id, key)).count > 0 };
}

/** Brokkr's REST rows: adding a label or annotation key that exists is a unique violation (409). */
export async function addTemplateLabelRow(db: Database, identity: Identity, templateId: string, label: string) {
  const value = requireLabel("label", label);
  const template = await getManagedTemplate(db, identity, templateId);
  try {
    return await store.insertTemplateLabel(db, template.id, value);
  } catch (err) {
    throw fromDatabaseError(err, `the template already has the label '${value}'`);
  }
}

export async function addTemplateAnnotationRow(
  db: Database,
  identity: Identity,
  templateId: string,
  input: { key: string; value: string },
) {
  const a = requireAnnotation("annotation", input.key, input.value);
  const template = await getManagedTemplate(db, identity, templateId);
  try {
    return await store.insertTemplateAnnotation(db, template.id, a.key, a.value);
  } catch (err) {
    throw fromDatabaseError(err, `the template already has an annotation '${a.key}'`);
  }
}
