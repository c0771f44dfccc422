import { insertCappedTag } from "../db/capped-tags.js";
import type { Db } from "../db/client.js";
import type { Prisma, StackTemplate } from "../generated/prisma/client.js";
import { decodeCursor, type Page } from "../graphql/pagination.js";
import { isUuid } from "../validation.js";

export type TemplateRow = StackTemplate;

export interface TemplateBody {
  description?: string | null;
  templateContent: string;
  parametersSchema: string;
  checksum: string;
}

export interface TemplateListFilter {
  /** A generator's view: its own templates and the system ones. */
  visibleToGenerator?: string;
  generatorId?: string;
  name?: string;
  system?: boolean;
}

/**
 * Version 1 of a new name, or null when the owner already has a live template of that name
 * (update it instead). The version is one more than any this owner and name ever had, so
 * numbers are never reused; two racing creates meet the unique index (CONFLICT).
 */
export async function insertTemplate(
  db: Db,
  data: TemplateBody & { generatorId: string | null; name: string },
): Promise<TemplateRow | null> {
  const ids = await db.$queryRaw<{ id: string }[]>`
    INSERT INTO stack_templates (generator_id, name, description, version, template_content, parameters_schema, checksum)
    SELECT ${data.generatorId}::uuid, ${data.name}, ${data.description ?? null},
           COALESCE(MAX(t.version), 0) + 1, ${data.templateContent}, ${data.parametersSchema}, ${data.checksum}
      FROM stack_templates t
     WHERE t.generator_id IS NOT DISTINCT FROM ${data.generatorId}::uuid AND t.name = ${data.name}
    HAVING bool_and(t.deleted_at IS NOT NULL) IS NOT FALSE
    RETURNING id`;
  return ids[0] ? db.stackTemplate.findUnique({ where: { id: ids[0].id } }) : null;
}

/** The next version of `base`'s owner and name, carrying `base`'s labels and annotations over. */
export async function insertVersion(db: Db, base: TemplateRow, data: TemplateBody): Promise<TemplateRow> {
  const [row] = await db.$queryRaw<{ id: string }[]>`
    INSERT INTO stack_templates (generator_id, name, description, version, template_content, parameters_schema, checksum)
    SELECT ${base.generatorId}::uuid, ${base.name}, ${data.description ?? null},
           MAX(t.version) + 1, ${data.templateContent}, ${data.parametersSchema}, ${data.checksum}
      FROM stack_templates t
     WHERE t.generator_id IS NOT DISTINCT FROM ${base.generatorId}::uuid AND t.name = ${base.name}
    RETURNING id`;
  const id = row?.id ?? "";
  await db.$executeRaw`INSERT INTO template_labels (template_id, label)
    SELECT ${id}::uuid, label FROM template_labels WHERE template_id = ${base.id}::uuid`;
  await db.$executeRaw`INSERT INTO template_annotations (template_id, key, value)
    SELECT ${id}::uuid, key, value FROM template_annotations WHERE template_id = ${base.id}::uuid`;
  return db.stackTemplate.findUniqueOrThrow({ where: { id } });
}

export function findTemplate(db: Db, id: string, includeDeleted = false) {
  return db.stackTemplate.findFirst({ where: { id, ...(includeDeleted ? {} : { deletedAt: null }) } });
}

export function findTemplatesByIds(db: Db, ids: readonly string[]) {
  return db.stackTemplate.findMany({ where: { id: { in: [...ids] } } });
}

const validCursor = ([, version, id]: string[]) => /^\d{1,9}$/.test(version ?? "") && isUuid(id ?? "");

/** Live templates by (name, version, id), keyset-paginated. */
export async function listTemplates(db: Db, filter: TemplateListFilter, page: Page): Promise<TemplateRow[]> {
  const [name, version, id] = page.after ? decodeCursor(page.after, 3, validCursor) : [null, null, null];
  const visible = filter.visibleToGenerator ?? null;
  const ids = await db.$queryRaw<{ id: string }[]>`
    SELECT t.id FROM stack_templates t
     WHERE t.deleted_at IS NULL
       AND (${visible}::uuid IS NULL OR t.generator_id = ${visible}::uuid OR t.generator_id IS NULL)
       AND (${filter.generatorId ?? null}::uuid IS NULL OR t.generator_id = ${filter.generatorId ?? null}::uuid)
       AND (${filter.name ?? null}::text IS NULL OR t.name = ${filter.name ?? null}::text)
       AND (${filter.system ?? null}::boolean IS NULL OR (t.generator_id IS NULL) = ${filter.system ?? null}::boolean)
       AND (${name}::text IS NULL OR (t.name, t.version, t.id) > (${name}::text, ${version}::int, ${id}::uuid))
     ORDER BY t.name, t.version, t.id
     LIMIT ${page.first + 1}`;
  const rows = await findTemplatesByIds(
    db,
    ids.map((r) => r.id),
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((r) => byId.get(r.id) ?? []);
}

export function softDeleteTemplate(db: Db, id: string) {
  return db.stackTemplate.updateMany({ where: { id, deletedAt: null }, data: { deletedAt: new Date() } });
}

/** False when the template already carries the most labels it may (see insertCappedTag). */
export const addTemplateLabel = (db: Db, templateId: string, label: string) =>
  insertCappedTag(db, "template_labels", templateId, label);
export const setTemplateAnnotation = (db: Db, templateId: string, key: string, value: string) =>
  insertCappedTag(db, "template_annotations", templateId, key, value);

export function removeTemplateLabel(db: Db, templateId: string, label: string) {
  return db.templateLabel.deleteMany({ where: { templateId, label } });
}

export function removeTemplateAnnotation(db: Db, templateId: string, key: string) {
  return db.templateAnnotation.deleteMany({ where: { templateId, key } });
}

/** Inserts a label, failing on a duplicate (REST answers 409 as Brokkr does). */
export function insertTemplateLabel(db: Db, templateId: string, label: string) {
  return db.templateLabel.create({ data: { templateId, label } });
}

export function insertTemplateAnnotation(db: Db, templateId: string, key: string, value: string) {
  return db.templateAnnotation.create({ data: { templateId, key, value } });
}

export function labelsOfTemplates(db: Db, ids: readonly string[]) {
  return db.templateLabel.findMany({ where: { templateId: { in: [...ids] } }, orderBy: { label: "asc" } });
}

export function annotationsOfTemplates(db: Db, ids: readonly string[]) {
  return db.templateAnnotation.findMany({ where: { templateId: { in: [...ids] } }, orderBy: { key: "asc" } });
}

/** The template's labels the stack lacks, and its annotations the stack lacks or holds with another value. */
export async function tagsMissingFromStack(db: Db, templateId: string, stackId: string) {
  const rows = await db.$queryRaw<{ kind: "label" | "annotation"; key: string; value: string | null }[]>`
    SELECT 'label' AS kind, l.label AS key, NULL AS value FROM template_labels l
     WHERE l.template_id = ${templateId}::uuid
       AND NOT EXISTS (SELECT 1 FROM stack_labels s WHERE s.stack_id = ${stackId}::uuid AND s.label = l.label)
    UNION ALL
    SELECT 'annotation', a.key, a.value FROM template_annotations a
     WHERE a.template_id = ${templateId}::uuid
       AND NOT EXISTS (SELECT 1 FROM stack_annotations s
                        WHERE s.stack_id = ${stackId}::uuid AND s.key = a.key AND s.value = a.value)
     ORDER BY 1, 2`;
  return {
    labels: rows.filter((r) => r.kind === "label").map((r) => r.key),
    annotations: rows.filter((r) => r.kind === "annotation").map((r) => ({ key: r.key, value: r.value ?? "" })),
  };
}

export function insertProvenance(db: Db, data: { deploymentObjectId: string; template: TemplateRow; parameters: unknown }) {
  return db.$executeRaw`
    INSERT INTO rendered_deployment_objects (deployment_object_id, template_id, template_name, template_version, template_parameters)
    VALUES (${data.deploymentObjectId}::uuid, ${data.template.id}::uuid, ${data.template.name}, ${data.template.version},
            ${JSON.stringify(data.parameters)}::jsonb)
    ON CONFLICT (deployment_object_id) DO NOTHING`;
}

export function provenanceOfObjects(db: Db, objectIds: readonly string[]) {
  return db.renderedDeploymentObject.findMany({ where: { deploymentObjectId: { in: [...objectIds] } } });
}

export type ProvenanceRow = Prisma.RenderedDeploymentObjectGetPayload<object>;
