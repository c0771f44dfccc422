import { z } from "zod";
import { notFound } from "../errors.js";
import { instantiateTemplate } from "../templates/instantiate.js";
import * as templates from "../templates/service.js";
import { annotationsOfTemplates, labelsOfTemplates, type TemplateRow } from "../templates/store.js";
import { labelBody } from "./agent-link-routes.js";
import { MAX_PAGE_SIZE } from "../graphql/pagination.js";
import { created, idParams, noContent, ok, route, uuid } from "./route.js";
import { objectJson } from "./shapes.js";

// Brokkr v1 shapes of templates (snake_case).
const iso = (d: Date | null) => (d ? d.toISOString() : null);
export const templateJson = (t: TemplateRow) => ({
  id: t.id,
  generator_id: t.generatorId,
  name: t.name,
  description: t.description,
  version: t.version,
  template_content: t.templateContent,
  parameters_schema: t.parametersSchema,
  checksum: t.checksum,
  created_at: iso(t.createdAt),
  updated_at: iso(t.updatedAt),
  deleted_at: iso(t.deletedAt),
});
const labelJson = (l: { id: string; templateId: string; label: string; createdAt: Date }) => ({
  id: l.id,
  template_id: l.templateId,
  label: l.label,
  created_at: iso(l.createdAt),
});
const annotationJson = (a: { id: string; templateId: string; key: string; value: string; createdAt: Date }) => ({
  id: a.id,
  template_id: a.templateId,
  key: a.key,
  value: a.value,
  created_at: iso(a.createdAt),
});

const content = { description: z.string().nullish(), template_content: z.string(), parameters_schema: z.string() };
const newTemplate = z.object({ name: z.string(), ...content });
const templateUpdate = z.object(content);
const annotationBody = z.object({ key: z.string(), value: z.string() });
const instantiation = z.object({ template_id: uuid, parameters: z.unknown() });
const USERS = ["ADMIN", "GENERATOR", "AGENT"] as const;

const toInput = (b: z.output<typeof templateUpdate>) => ({
  description: b.description,
  templateContent: b.template_content,
  parametersSchema: b.parameters_schema,
});

// Agents pass the role check and are refused by the service (403 templates_not_accessible), as Brokkr does.
export const templateRoutes = [
  route({
    op: "list_templates",
    roles: USERS,
    // One page (MAX_PAGE_SIZE by name and version), not Brokkr's unbounded list: bodies are up to
    // MAX_TEMPLATE_CHARS each, so this bounds the answer at about 64 MB. GraphQL pages further.
    handle: async ({ who, deps }) =>
      ok((await templates.listTemplates(deps.db, who, {}, { first: MAX_PAGE_SIZE })).edges.map((e) => templateJson(e.node))),
  }),
  route({
    op: "create_template",
    roles: USERS,
    body: newTemplate,
    handle: async ({ who, body, deps }) =>
      created(templateJson(await templates.createTemplate(deps.db, who, { name: body.name, ...toInput(body) }))),
  }),
  route({
    op: "get_template",
    roles: USERS,
    params: idParams,
    handle: async ({ who, params, deps }) => ok(templateJson(await templates.getReadableTemplate(deps.db, who, params.id))),
  }),
  route({
    op: "update_template",
    roles: USERS,
    params: idParams,
    body: templateUpdate,
    handle: async ({ who, params, body, deps }) =>
      ok(templateJson(await templates.updateTemplate(deps.db, who, { id: params.id, ...toInput(body) }))),
  }),
  route({
    op: "delete_template",
    roles: USERS,
    params: idParams,
    handle: async ({ who, params, deps }) => {
      await templates.deleteTemplate(deps.db, who, params.id);
      return noContent();
    },
  }),
  route({
    op: "templates_list_labels",
    roles: USERS,
    params: idParams,
    handle: async ({ who, params, deps }) => {
      const template = await templates.getReadableTemplate(deps.db, who, params.id);
      return ok((await labelsOfTemplates(deps.db, [template.id])).map(labelJson));
    },
  }),
  route({
    op: "templates_add_label",
    roles: USERS,
    params: idParams,
    body: labelBody,
    handle: async ({ who, params, body, deps }) =>
      created(labelJson(await templates.addTemplateLabelRow(deps.db, who, params.id, body))),
  }),
  route({
    op: "templates_remove_label",
    roles: USERS,
    params: z.object({ id: uuid, label: z.string() }),
    handle: async ({ who, params, deps }) => {
      const { removed } = await templates.removeTemplateLabel(deps.db, who, params.id, params.label);
      if (!removed) throw notFound("label");
      return noContent();
    },
  }),
  route({
    op: "templates_list_annotations",
    roles: USERS,
    params: idParams,
    handle: async ({ who, params, deps }) => {
      const template = await templates.getReadableTemplate(deps.db, who, params.id);
      return ok((await annotationsOfTemplates(deps.db, [template.id])).map(annotationJson));
    },
  }),
  route({
    op: "templates_add_annotation",
    roles: USERS,
    params: idParams,
    body: annotationBody,
    handle: async ({ who, params, body, deps }) =>
      created(annotationJson(await templates.addTemplateAnnotationRow(deps.db, who, params.id, body))),
  }),
  route({
    op: "templates_remove_annotation",
    roles: USERS,
    params: z.object({ id: uuid, key: z.string() }),
    handle: async ({ who, params, deps }) => {
      const { removed } = await templates.removeTemplateAnnotation(deps.db, who, { templateId: params.id, key: params.key });
      if (!removed) throw notFound("annotation");
      return noContent();
    },
  }),
  route({
    op: "instantiate_template",
    roles: USERS,
    params: z.object({ stack_id: uuid }),
    body: instantiation,
    handle: async ({ who, params, body, req, deps }) => {
      const idempotency = {
        key: req.get("idempotency-key"),
        ttlSeconds: deps.limits.idempotencyTtlSeconds,
        field: "Idempotency-Key",
      };
      const input = { stackId: params.stack_id, templateId: body.template_id, parameters: body.parameters };
      return created(
        objectJson(await instantiateTemplate(deps.db, who, input, deps.delivery, { limits: deps.limits, idempotency })),
      );
    },
  }),
];
