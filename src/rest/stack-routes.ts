import { z } from "zod";
import { addStackAnnotationRow, addStackLabelRow, getReadableStack } from "../stacks/labels.js";
import * as stacks from "../stacks/service.js";
import { annotationsOfStacks, labelsOfStacks, type StackListFilter } from "../stacks/store.js";
import { labelBody } from "./agent-link-routes.js";
import { restRefusal } from "./errors.js";
import { allPages, created, idParams, noContent, ok, route, uuid } from "./route.js";
import { stackAnnotationJson, stackJson, stackLabelJson } from "./shapes.js";

const newStack = z.object({ name: z.string(), description: z.string().nullish(), generator_id: uuid.optional() });
// Brokkr's PUT takes the whole Stack; only its name and description are the caller's to change.
const stackUpdate = z.object({ name: z.string().optional(), description: z.string().nullish() });
const annotationBody = z.object({ stack_id: uuid.optional(), key: z.string(), value: z.string() });

export const stackRoutes = [
  route({
    op: "list_stacks",
    // Brokkr refuses agents here (stacks_list_denied); they read GET /agents/{id}/stacks.
    roles: ["ADMIN", "GENERATOR", "AGENT"],
    // `pak_id` is Brokkr's view filter, never an authorization boundary.
    query: z.object({ pak_id: uuid.optional() }),
    handle: async ({ who, query, deps }) => {
      if (who.role === "AGENT")
        throw restRefusal("FORBIDDEN", "stacks_list_denied", "agents list their stacks with GET /agents/{id}/stacks");
      const filter: StackListFilter = { generatorId: who.role === "GENERATOR" ? who.id : query.pak_id };
      return ok((await allPages((page) => stacks.listStacks(deps.db, filter, page))).map(stackJson));
    },
  }),
  route({
    op: "create_stack",
    roles: ["ADMIN", "GENERATOR"],
    body: newStack,
    handle: async ({ who, body, deps }) =>
      created(
        stackJson(
          await stacks.createStack(deps.db, who, {
            name: body.name,
            description: body.description,
            generatorId: body.generator_id,
          }),
        ),
      ),
  }),
  route({
    op: "get_stack",
    roles: ["ADMIN", "GENERATOR"],
    params: idParams,
    handle: async ({ who, params, deps }) => ok(stackJson(await stacks.getManagedStack(deps.db, who, params.id))),
  }),
  route({
    op: "update_stack",
    roles: ["ADMIN", "GENERATOR"],
    params: idParams,
    body: stackUpdate,
    handle: async ({ who, params, body, deps }) =>
      ok(stackJson(await stacks.updateStack(deps.db, who, { id: params.id, ...body }))),
  }),
  route({
    op: "delete_stack",
    roles: ["ADMIN", "GENERATOR"],
    params: idParams,
    handle: async ({ who, params, deps }) => {
      await stacks.deleteStack(deps.db, who, { id: params.id });
      return noContent();
    },
  }),
  route({
    op: "stacks_list_labels",
    roles: ["ADMIN", "GENERATOR", "AGENT"],
    params: idParams,
    handle: async ({ who, params, deps }) =>
      ok((await labelsOfStacks(deps.db, [(await getReadableStack(deps.db, who, params.id)).id])).map(stackLabelJson)),
  }),
  route({
    op: "stacks_add_label",
    roles: ["ADMIN", "GENERATOR"],
    params: idParams,
    body: labelBody,
    handle: async ({ who, params, body, deps }) => created(stackLabelJson(await addStackLabelRow(deps.db, who, params.id, body))),
  }),
  route({
    op: "stacks_remove_label",
    roles: ["ADMIN", "GENERATOR"],
    params: z.object({ id: uuid, label: z.string() }),
    handle: async ({ who, params, deps }) => {
      await stacks.removeStackLabel(deps.db, who, params.id, params.label);
      return noContent();
    },
  }),
  route({
    op: "stacks_list_annotations",
    roles: ["ADMIN", "GENERATOR", "AGENT"],
    params: idParams,
    handle: async ({ who, params, deps }) =>
      ok((await annotationsOfStacks(deps.db, [(await getReadableStack(deps.db, who, params.id)).id])).map(stackAnnotationJson)),
  }),
  route({
    op: "stacks_add_annotation",
    roles: ["ADMIN", "GENERATOR"],
    params: idParams,
    body: annotationBody,
    handle: async ({ who, params, body, deps }) => {
      if (body.stack_id && body.stack_id !== params.id)
        throw restRefusal("BAD_USER_INPUT", "stack_id_mismatch", "stack_id does not match the path", "stack_id");
      return created(stackAnnotationJson(await addStackAnnotationRow(deps.db, who, params.id, body)));
    },
  }),
  route({
    op: "stacks_remove_annotation",
    roles: ["ADMIN", "GENERATOR"],
    params: z.object({ id: uuid, key: z.string() }),
    handle: async ({ who, params, deps }) => {
      await stacks.removeStackAnnotation(deps.db, who, { stackId: params.id, key: params.key });
      return noContent();
    },
  }),
];
