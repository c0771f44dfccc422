import { isReadOnly } from "../auth/policy.js";
import { z } from "zod";
import { eventsConnection, reportAgentEvent } from "../agent-events/service.js";
import { findAgentEvent, recentEventsOfAgent } from "../agent-events/store.js";
import { recordHealthReport } from "../agents/health.js";
import * as agents from "../agents/service.js";
import { findAgentByName, type AgentListFilter } from "../agents/store.js";
import { stacksReaching, targetState } from "../associations/service.js";
import { pollDeployments } from "../delivery/long-poll.js";
import { badInput, forbidden, notFound } from "../errors.js";
import { findStacksByIds } from "../stacks/store.js";
import { LIMITS, parseSequenceId } from "../validation.js";
import { agentLinkRoutes } from "./agent-link-routes.js";
import { restRefusal } from "./errors.js";
import { ALL, allPages, created, idParams, noContent, ok, route, uuid } from "./route.js";
import { agentJson, eventJson, objectJson, stackJson } from "./shapes.js";

const eventBody = z.object({
  agent_id: uuid.optional(),
  deployment_object_id: uuid,
  event_type: z.string().min(1).max(LIMITS.eventType).default("DEPLOYMENT"),
  status: z.enum(["SUCCESS", "FAILURE"]),
  message: z.string().max(LIMITS.eventMessage).nullish(),
});
const heartbeatBody = z
  .object({
    k8s_reachable: z.boolean().nullish(),
    k8s_api_latency_ms: z.number().int().min(0).max(3_600_000).nullish(),
  })
  .default({});
// The entry cap is checked by the service before any entry is looked at.
const healthBody = z.object({
  deployment_objects: z.array(
    z.object({
      id: z.string(),
      status: z.string().min(1).max(LIMITS.healthStatus),
      summary: z.unknown().optional(),
      checked_at: z.iso.datetime({ offset: true }),
    }),
  ),
});
const newAgent = z.object({ name: z.string(), cluster_name: z.string(), generator_ids: z.array(uuid).max(50).optional() });
const agentUpdate = z.object({
  name: z.string().optional(),
  cluster_name: z.string().optional(),
  status: z.enum(["ACTIVE", "INACTIVE"]).optional(),
});
const optionalText = z.string().max(LIMITS.name).optional();

export const agentRoutes = [
  route({
    op: "verify_pak",
    roles: ALL,
    handle: async ({ who }) =>
      ok({
        admin: who.role === "ADMIN",
        agent: who.role === "AGENT" ? who.id : null,
        generator: who.role === "GENERATOR" ? who.id : null,
        readonly: isReadOnly(who),
      }),
  }),
  route({
    op: "list_agents",
    roles: ["ADMIN", "GENERATOR"],
    handle: async ({ who, deps }) => {
      const filter: AgentListFilter = who.role === "GENERATOR" ? { registeredWith: who.id } : {};
      return ok((await allPages((page) => agents.listAgents(deps.db, filter, page))).map(agentJson));
    },
  }),
  route({
    op: "create_agent",
    roles: ["ADMIN"],
    body: newAgent,
    handle: async ({ who, body, deps }) => {
      const { agent, pak } = await agents.createAgent(deps.db, who, {
        name: body.name,
        clusterName: body.cluster_name,
        generatorIds: body.generator_ids,
      });
      return created({ agent: agentJson(agent), initial_pak: pak });
    },
  }),
  route({
    op: "search_agent",
    roles: ["ADMIN", "AGENT"],
    query: z.object({ name: optionalText, cluster_name: optionalText }),
    handle: async ({ who, query, deps }) => {
      if (!query.name) throw badInput("name", "name is required");
      if (!query.cluster_name) throw badInput("cluster_name", "cluster_name is required");
      const agent = await findAgentByName(deps.db, query.name, query.cluster_name);
      // An agent finds only itself; whether another name exists is not its business.
      if (who.role === "AGENT" && agent?.id !== who.id) throw forbidden();
      if (!agent) throw notFound("agent");
      return ok(agentJson(agent));
    },
  }),
  route({
    op: "get_agent",
    roles: ["ADMIN", "AGENT"],
    params: idParams,
    agent: "read",
    handle: async ({ agent }) => ok(agentJson(agent)),
  }),
  route({
    op: "update_agent",
    roles: ["ADMIN", "AGENT"],
    params: idParams,
    agent: "write",
    body: agentUpdate,
    // The service refuses a status change by anyone but the admin (an agent never activates itself).
    handle: async ({ who, agent, body, deps }) =>
      ok(
        agentJson(
          await agents.updateAgent(deps.db, who, {
            id: agent.id,
            name: body.name,
            clusterName: body.cluster_name,
            status: body.status,
          }),
        ),
      ),
  }),
  route({
    op: "delete_agent",
    roles: ["ADMIN"],
    params: idParams,
    handle: async ({ params, deps }) => {
      await agents.deleteAgent(deps.db, { id: params.id });
      return noContent();
    },
  }),
  route({
    op: "rotate_agent_pak",
    roles: ["ADMIN", "AGENT"],
    params: idParams,
    agent: "write",
    handle: async ({ who, agent, deps }) => {
      const rotated = await agents.rotateAgentPak(deps.db, who, agent.id);
      return ok({ agent: agentJson(rotated.agent), pak: rotated.pak });
    },
  }),
  route({
    op: "get_target_state",
    roles: ["ADMIN", "AGENT"],
    params: idParams,
    agent: "read",
    // Brokkr's default is incremental: the latest object of each stack this agent has reported no event for.
    query: z.object({ mode: z.enum(["incremental", "full"]).default("incremental") }),
    handle: async ({ agent, query, deps }) => {
      const entries = await targetState(deps.db, agent, query.mode === "incremental");
      // Brokkr orders the answer by sequence_id, newest first.
      return ok(entries.map((e) => objectJson(e.deploymentObject)).sort((a, b) => b.sequence_id - a.sequence_id));
    },
  }),
  route({
    op: "get_associated_stacks",
    roles: ["ADMIN", "AGENT"],
    params: idParams,
    agent: "read",
    handle: async ({ agent, deps }) => {
      const stacks = await findStacksByIds(deps.db, await stacksReaching(deps.db, agent));
      return ok(stacks.sort((a, b) => a.name.localeCompare(b.name)).map(stackJson));
    },
  }),
  route({
    op: "list_events",
    roles: ["ADMIN", "AGENT"],
    params: idParams,
    agent: "read",
    handle: async ({ agent, deps }) => ok((await recentEventsOfAgent(deps.db, agent.id)).map(eventJson)),
  }),
  route({
    op: "create_event",
    roles: ["ADMIN", "AGENT"],
    params: idParams,
    agent: "write",
    body: eventBody,
    handle: async ({ who, agent, body, req, deps }) => {
      if (body.agent_id && body.agent_id !== agent.id)
        throw restRefusal("BAD_USER_INPUT", "agent_id_mismatch", "agent_id does not match the path", "agent_id");
      const input = {
        agentId: agent.id,
        deploymentObjectId: body.deployment_object_id,
        eventType: body.event_type,
        status: body.status,
        message: body.message,
      };
      const key = { key: req.get("idempotency-key"), ttlSeconds: deps.limits.idempotencyTtlSeconds, field: "Idempotency-Key" };
      return created(eventJson(await reportAgentEvent(deps.db, who, input, key)));
    },
  }),
  route({
    op: "record_heartbeat",
    roles: ["AGENT"],
    params: idParams,
    agent: "write",
    body: heartbeatBody,
    handle: async ({ agent, body, deps }) => {
      await agents.heartbeat(deps.db, agent, { k8sReachable: body.k8s_reachable, k8sApiLatencyMs: body.k8s_api_latency_ms });
      return noContent();
    },
  }),
  route({
    op: "update_health_status",
    roles: ["AGENT"],
    params: idParams,
    agent: "write",
    body: healthBody,
    handle: async ({ agent, body, deps }) => {
      await recordHealthReport(deps.db, agent, body.deployment_objects, deps.limits);
      return { status: 200 };
    },
  }),
  route({
    op: "list_agent_events",
    roles: ["ADMIN"],
    query: z.object({ pak_id: uuid.optional() }),
    handle: async ({ deps }) => ok((await allPages((page) => eventsConnection(deps.db, {}, page))).map(eventJson)),
  }),
  route({
    op: "get_agent_event",
    roles: ["ADMIN"],
    params: idParams,
    handle: async ({ params, deps }) => {
      const event = await findAgentEvent(deps.db, params.id);
      if (!event || event.deletedAt) throw notFound("agent event");
      return ok(eventJson(event));
    },
  }),
  route({
    op: "poll_deployment_objects",
    extension: { method: "GET", path: "/agents/{id}/deployment-objects" },
    roles: ["ADMIN", "AGENT"],
    params: idParams,
    agent: "read",
    query: z.object({ after: z.string().default("0"), wait: z.coerce.number().min(0).max(60).default(0) }),
    handle: async ({ agent, query, deps, req }) => {
      // The poll ends when its client goes away (its socket closes), not only at `wait`.
      const gone = new AbortController();
      const onClose = () => gone.abort();
      req.socket.once("close", onClose);
      const result = await pollDeployments(
        deps.db,
        deps.delivery,
        agent.id,
        parseSequenceId("after", query.after),
        query.wait * 1000,
        gone.signal,
      ).finally(() => req.socket.off("close", onClose));
      const objects = result.objects.map(objectJson);
      const events = objects.map((o) => ({ type: "DEPLOY", stack_id: o.stack_id, deployment_object: o }));
      return ok({ events, deployment_objects: objects, stack_ids: result.stackIds, cursor: result.cursor.toString() });
    },
  }),
  ...agentLinkRoutes,
];
