import { z } from "zod";
import { addAgentAnnotationRow, addAgentLabelRow, removeAgentLabelRow } from "../agents/labels.js";
import * as agents from "../agents/service.js";
import { annotationsOfAgents, findTarget, labelsOfAgents, registrationsOfAgents, targetsOfAgents } from "../agents/store.js";
import { notFound } from "../errors.js";
import { restRefusal } from "./errors.js";
import { created, idParams, noContent, ok, route, uuid } from "./route.js";
import { agentAnnotationJson, agentLabelJson, registrationJson, targetJson } from "./shapes.js";

// Brokkr's SDKs send a label as a bare JSON string; `{label}` (NewAgentLabel) is accepted too.
export const labelBody = z.union([z.string(), z.object({ label: z.string() }).transform((b) => b.label)]);
const annotationBody = z.object({ agent_id: uuid.optional(), key: z.string(), value: z.string() });
const targetBody = z.object({ agent_id: uuid.optional(), stack_id: uuid });

/** A body `agent_id` must name the path's agent (Brokkr: 400 agent_id_mismatch). */
function assertSameAgent(bodyAgentId: string | undefined, pathId: string) {
  if (bodyAgentId && bodyAgentId !== pathId)
    throw restRefusal("BAD_USER_INPUT", "agent_id_mismatch", "agent_id does not match the path", "agent_id");
}

export const agentLinkRoutes = [
  route({
    op: "agents_list_labels",
    roles: ["ADMIN", "AGENT"],
    params: idParams,
    agent: "read",
    handle: async ({ agent, deps }) => ok((await labelsOfAgents(deps.db, [agent.id])).map(agentLabelJson)),
  }),
  route({
    op: "agents_add_label",
    roles: ["ADMIN"],
    params: idParams,
    body: labelBody,
    handle: async ({ params, body, deps }) => created(agentLabelJson(await addAgentLabelRow(deps.db, params.id, body))),
  }),
  route({
    op: "agents_remove_label",
    roles: ["ADMIN"],
    params: z.object({ id: uuid, label: z.string() }),
    handle: async ({ params, deps }) => {
      await removeAgentLabelRow(deps.db, params.id, { label: params.label });
      return noContent();
    },
  }),
  route({
    op: "agents_list_annotations",
    roles: ["ADMIN", "AGENT"],
    params: idParams,
    agent: "read",
    handle: async ({ agent, deps }) => ok((await annotationsOfAgents(deps.db, [agent.id])).map(agentAnnotationJson)),
  }),
  route({
    op: "agents_add_annotation",
    roles: ["ADMIN"],
    params: idParams,
    body: annotationBody,
    handle: async ({ params, body, deps }) => {
      assertSameAgent(body.agent_id, params.id);
      return created(agentAnnotationJson(await addAgentAnnotationRow(deps.db, params.id, body)));
    },
  }),
  route({
    op: "agents_remove_annotation",
    roles: ["ADMIN"],
    params: z.object({ id: uuid, key: z.string() }),
    handle: async ({ params, deps }) => {
      await removeAgentLabelRow(deps.db, params.id, { key: params.key });
      return noContent();
    },
  }),
  route({
    op: "list_targets",
    roles: ["ADMIN", "AGENT"],
    params: idParams,
    agent: "read",
    handle: async ({ agent, deps }) => ok((await targetsOfAgents(deps.db, [agent.id])).map(targetJson)),
  }),
  route({
    op: "add_target",
    roles: ["ADMIN", "GENERATOR"],
    params: idParams,
    body: targetBody,
    // The service applies the consent rule (agent_not_registered) and ownership (target_generator_mismatch).
    handle: async ({ who, params, body, deps }) => {
      assertSameAgent(body.agent_id, params.id);
      await agents.setTarget(deps.db, who, { agentId: params.id, stackId: body.stack_id }, true);
      const target = await findTarget(deps.db, params.id, body.stack_id);
      if (!target) throw notFound("target");
      return created(targetJson(target));
    },
  }),
  route({
    op: "remove_target",
    roles: ["ADMIN", "GENERATOR"],
    params: z.object({ id: uuid, stack_id: uuid }),
    handle: async ({ who, params, deps }) => {
      await agents.setTarget(deps.db, who, { agentId: params.id, stackId: params.stack_id }, false);
      return noContent();
    },
  }),
  route({
    op: "list_agent_registrations",
    roles: ["ADMIN", "AGENT"],
    params: idParams,
    agent: "read",
    handle: async ({ agent, deps }) => ok((await registrationsOfAgents(deps.db, [agent.id])).map(registrationJson)),
  }),
];
