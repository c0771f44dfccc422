import { requireAdmin, requireIdentity, requireRole } from "../auth/policy.js";
import type { Resolvers } from "../generated/graphql.js";
import { pageArgs } from "../graphql/pagination.js";
import { checkedText } from "../db/checked-text.js";
import { targetState } from "../associations/service.js";
import { eventsConnection, reportAgentEvent } from "../agent-events/service.js";
import * as service from "./service.js";
import { idempotencyOf } from "../idempotency/service.js";
import type { AgentListFilter } from "./store.js";
import { requireAnnotations, requireLabels } from "../validation.js";

export const agentResolvers: Resolvers = {
  Query: {
    agents: (_, { filter, first, after }, { db, identity }) => {
      const who = requireIdentity(identity);
      const f: AgentListFilter = {
        labels: requireLabels("filter.labels", filter?.labels),
        annotations: requireAnnotations("filter.annotations", filter?.annotations),
        status: filter?.status ?? undefined,
        includeDeleted: filter?.includeDeleted ?? false,
      };
      if (who.role === "GENERATOR") f.registeredWith = who.id;
      if (who.role === "AGENT") f.onlyId = who.id;
      return service.listAgents(db, f, pageArgs(first, after));
    },
    agent: (_, { id }, { db, identity }) => service.getVisibleAgent(db, requireIdentity(identity), id),
    targetState: async (_, { agentId }, { db, identity }) => {
      const who = requireRole(identity, "ADMIN", "AGENT");
      return targetState(db, await service.getSelfAgent(db, who, agentId, "agentId"));
    },
  },
  Mutation: {
    createAgent: async (_, { input }, ctx) => ({
      ...(await service.createAgent(ctx.db, requireAdmin(ctx.identity), input, idempotencyOf(input, ctx))),
      clientMutationId: input.clientMutationId ?? null,
    }),
    rotateAgentPak: (_, { input }, { db, identity }) => service.rotateAgentPak(db, requireIdentity(identity), input.id),
    updateAgent: async (_, { input }, { db, identity }) => ({
      agent: await service.updateAgent(db, requireIdentity(identity), input),
    }),
    deleteAgent: (_, { input }, { db, identity }) => {
      requireAdmin(identity);
      return service.deleteAgent(db, input);
    },
    registerAgent: (_, { input }, { db, identity }) => {
      requireAdmin(identity);
      return service.setRegistration(db, input, true);
    },
    deregisterAgent: (_, { input }, { db, identity }) => {
      requireAdmin(identity);
      return service.setRegistration(db, input, false);
    },
    addAgentLabel: async (_, { input }, { db, identity }) => {
      requireAdmin(identity);
      return { agent: await service.mutateAgentLabels(db, input.agentId, { add: input.label }) };
    },
    removeAgentLabel: async (_, { input }, { db, identity }) => {
      requireAdmin(identity);
      return { agent: await service.mutateAgentLabels(db, input.agentId, { remove: input.label }) };
    },
    setAgentAnnotation: async (_, { input }, { db, identity }) => {
      requireAdmin(identity);
      return { agent: await service.mutateAgentLabels(db, input.agentId, { set: { key: input.key, value: input.value } }) };
    },
    removeAgentAnnotation: async (_, { input }, { db, identity }) => {
      requireAdmin(identity);
      return { agent: await service.mutateAgentLabels(db, input.agentId, { unset: input.key }) };
    },
    targetStack: (_, { input }, { db, identity }) => service.setTarget(db, requireIdentity(identity), input, true),
    untargetStack: (_, { input }, { db, identity }) => service.setTarget(db, requireIdentity(identity), input, false),
    reportAgentEvent: async (_, { input }, ctx) => ({
      event: await reportAgentEvent(ctx.db, requireIdentity(ctx.identity), input, idempotencyOf(input, ctx)),
      clientMutationId: input.clientMutationId ?? null,
    }),
    heartbeat: async (_, { input }, { db, identity }) => {
      const who = requireRole(identity, "AGENT");
      return { agent: await service.heartbeat(db, await service.getWritingAgent(db, who, who.id ?? ""), input ?? {}) };
    },
  },
  Agent: {
    status: (agent) => checkedText(["ACTIVE", "INACTIVE"], agent.status),
    labels: (agent, _, { loaders }) => loaders.agentLabels.load(agent.id),
    annotations: (agent, _, { loaders }) => loaders.agentAnnotations.load(agent.id),
    // A generator sees only its own stacks among an agent's targets.
    targets: async (agent, _, { loaders, identity }) => {
      const stacks = await loaders.agentTargets.load(agent.id);
      return identity?.role === "GENERATOR" ? stacks.filter((s) => s.generatorId === identity.id) : stacks;
    },
    registeredGenerators: async (agent, _, { loaders, identity }) => {
      const generators = await loaders.agentRegistrations.load(agent.id);
      return identity?.role === "GENERATOR" ? generators.filter((g) => g.id === identity.id) : generators;
    },
    events: async (agent, { first, after }, { db, identity }) => {
      const scope = identity?.role === "GENERATOR" ? { generatorId: identity.id } : {};
      return eventsConnection(db, { agentId: agent.id, ...scope }, pageArgs(first, after));
    },
  },
};
