import { missingOrHidden, requireIdentity } from "../auth/policy.js";
import { canReadStack, readableStackIds } from "../auth/agent-scope.js";
import { forbidden } from "../errors.js";
import type { Resolvers } from "../generated/graphql.js";
import { pageArgs } from "../graphql/pagination.js";
import * as objects from "../deployment-objects/store.js";
import { encodeCursor, decodeCursor, toConnection } from "../graphql/pagination.js";
import { referenced } from "../graphql/loaders.js";
import { parseSequenceId, requireAnnotations, requireId, requireLabels } from "../validation.js";
import * as service from "./service.js";
import { idempotencyOf } from "../idempotency/service.js";
import type { StackListFilter } from "./store.js";

export const stackResolvers: Resolvers = {
  Query: {
    stacks: async (_, { filter, first, after }, { db, identity }) => {
      const who = requireIdentity(identity);
      const f: StackListFilter = {
        labels: requireLabels("filter.labels", filter?.labels),
        annotations: requireAnnotations("filter.annotations", filter?.annotations),
        generatorId: filter?.generatorId ? requireId("filter.generatorId", filter.generatorId) : undefined,
        includeDeleted: filter?.includeDeleted ?? false,
      };
      if (who.role === "GENERATOR") {
        if (f.generatorId && f.generatorId !== who.id) throw forbidden();
        f.generatorId = who.id;
      }
      // An agent sees the stacks that reach it, and no others.
      if (who.role === "AGENT") f.ids = await readableStackIds(db, who.id);
      return service.listStacks(db, f, pageArgs(first, after));
    },
    stack: async (_, { id }, { db, identity, loaders }) => {
      const who = requireIdentity(identity);
      const stack = await loaders.stack.load(requireId("id", id));
      if (!stack) throw missingOrHidden(who, "stack");
      if (who.role === "GENERATOR" && stack.generatorId !== who.id) throw forbidden();
      if (who.role === "AGENT" && !(await canReadStack(db, who.id, stack.id))) throw forbidden();
      return stack;
    },
  },
  Mutation: {
    createStack: async (_, { input }, ctx) => ({
      stack: await service.createStack(ctx.db, requireIdentity(ctx.identity), input, idempotencyOf(input, ctx)),
      clientMutationId: input.clientMutationId ?? null,
    }),
    updateStack: async (_, { input }, { db, identity }) => ({
      stack: await service.updateStack(db, requireIdentity(identity), input),
    }),
    deleteStack: (_, { input }, { db, identity }) => service.deleteStack(db, requireIdentity(identity), input),
    addStackLabel: async (_, { input }, { db, identity }) => ({
      stack: await service.addStackLabel(db, requireIdentity(identity), input.stackId, input.label),
    }),
    removeStackLabel: async (_, { input }, { db, identity }) => ({
      stack: await service.removeStackLabel(db, requireIdentity(identity), input.stackId, input.label),
    }),
    setStackAnnotation: async (_, { input }, { db, identity }) => ({
      stack: await service.setStackAnnotation(db, requireIdentity(identity), input),
    }),
    removeStackAnnotation: async (_, { input }, { db, identity }) => ({
      stack: await service.removeStackAnnotation(db, requireIdentity(identity), input),
    }),
  },
  Stack: {
    generator: (stack, _, { loaders }) => referenced(loaders.generator, stack.generatorId),
    labels: (stack, _, { loaders }) => loaders.stackLabels.load(stack.id),
    annotations: (stack, _, { loaders }) => loaders.stackAnnotations.load(stack.id),
    latestDeploymentObject: (stack, _, { loaders }) => loaders.latestObject.load(stack.id),
    // Other agents are not an agent's business: it sees at most itself.
    targetedAgents: async (stack, _, { loaders, identity }) => {
      const agents = await loaders.stackTargetedAgents.load(stack.id);
      return identity?.role === "AGENT" ? agents.filter((a) => a.id === identity.id) : agents;
    },
    deploymentObjects: async (stack, { first, after }, { db }) => {
      const page = pageArgs(first, after);
      let afterSeq: bigint | undefined;
      if (page.after) {
        const [seq] = decodeCursor(page.after, 1);
        afterSeq = parseSequenceId("after", seq);
      }
      const rows = await objects.listObjectsOfStack(db, stack.id, afterSeq, page.first + 1);
      return toConnection(rows, page.first, (o) => encodeCursor([o.sequenceId]));
    },
  },
};
