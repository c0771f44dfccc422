import { JSONResolver } from "graphql-scalars";
import { requireIdentity } from "../auth/policy.js";
import type { Resolvers } from "../generated/graphql.js";
import { pageArgs } from "../graphql/pagination.js";
import { idempotencyOf } from "../idempotency/service.js";
import { instantiateTemplate } from "./instantiate.js";
import { templateLoaders } from "./loaders.js";
import * as service from "./service.js";

export const templateResolvers: Resolvers = {
  JSON: JSONResolver,
  Query: {
    stackTemplates: (_, { filter, first, after }, { db, identity }) =>
      service.listTemplates(db, requireIdentity(identity), filter ?? {}, pageArgs(first, after)),
    stackTemplate: (_, { id }, { db, identity }) => service.getReadableTemplate(db, requireIdentity(identity), id),
  },
  Mutation: {
    createStackTemplate: async (_, { input }, { db, identity }) => ({
      stackTemplate: await service.createTemplate(db, requireIdentity(identity), input),
    }),
    updateStackTemplate: async (_, { input }, { db, identity }) => ({
      stackTemplate: await service.updateTemplate(db, requireIdentity(identity), input),
    }),
    deleteStackTemplate: (_, { input }, { db, identity }) => service.deleteTemplate(db, requireIdentity(identity), input.id),
    addStackTemplateLabel: async (_, { input }, { db, identity }) => ({
      stackTemplate: await service.addTemplateLabel(db, requireIdentity(identity), input.templateId, input.label),
    }),
    removeStackTemplateLabel: async (_, { input }, { db, identity }) => ({
      stackTemplate: (await service.removeTemplateLabel(db, requireIdentity(identity), input.templateId, input.label)).template,
    }),
    setStackTemplateAnnotation: async (_, { input }, { db, identity }) => ({
      stackTemplate: await service.setTemplateAnnotation(db, requireIdentity(identity), input),
    }),
    removeStackTemplateAnnotation: async (_, { input }, { db, identity }) => ({
      stackTemplate: (await service.removeTemplateAnnotation(db, requireIdentity(identity), input)).template,
    }),
    instantiateStackTemplate: async (_, { input }, ctx) => {
      const opts = { limits: ctx.limits, idempotency: idempotencyOf(input, ctx) };
      const deploymentObject = await instantiateTemplate(ctx.db, requireIdentity(ctx.identity), input, ctx.delivery, opts);
      return { deploymentObject, clientMutationId: input.clientMutationId ?? null };
    },
  },
  StackTemplate: {
    labels: (t, _, ctx) => templateLoaders(ctx).labels.load(t.id),
    annotations: (t, _, ctx) => templateLoaders(ctx).annotations.load(t.id),
  },
  DeploymentObject: {
    // Templates are not an agent's business (it reads the rendered object itself).
    provenance: (object, _, ctx) => (ctx.identity?.role === "AGENT" ? null : templateLoaders(ctx).provenance.load(object.id)),
  },
  DeploymentObjectProvenance: {
    parameters: (p) => p.templateParameters,
    // The version used, while the caller may still read it (a generator: its own or a system one).
    template: async (p, _, ctx) => {
      if (!p.templateId || !ctx.identity) return null;
      const template = await templateLoaders(ctx).template.load(p.templateId);
      const who = ctx.identity;
      const visible =
        who.role === "ADMIN" || (who.role === "GENERATOR" && (!template?.generatorId || template.generatorId === who.id));
      return template && visible ? template : null;
    },
  },
};
