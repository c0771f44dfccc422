import type { Identity } from "../auth/identity.js";
import { requireIdentity } from "../auth/policy.js";
import { forbidden, notFound } from "../errors.js";
import type { Resolvers } from "../generated/graphql.js";
import type { GraphQLContext } from "../graphql/context.js";
import { renderReleaseAs } from "../releases/render.js";
import { rolloutLoaders } from "./loaders.js";
import { rollbackPromotion } from "./rollback.js";
import { getPromotion } from "../promotions/queries.js";

/** Jobs and tasks: whoever reads promotions (admin, read-only users, generators); agents never query them. */
function requireJobReader(ctx: GraphQLContext): Identity {
  const who = requireIdentity(ctx.identity);
  if (who.role === "AGENT") throw forbidden("agents do not read deployment jobs");
  return who;
}

export const rolloutResolvers: Resolvers = {
  Mutation: {
    renderRelease: async (_, { input }, ctx) => {
      const rendered = await renderReleaseAs(ctx.db, requireIdentity(ctx.identity), input, ctx.limits);
      return { yamlContent: rendered.yamlContent, checksum: rendered.checksum };
    },
    rollbackPromotion: async (_, { input }, ctx) => {
      const { promotion, job } = await rollbackPromotion(ctx.db, requireIdentity(ctx.identity), input.promotionId);
      // The payload carries the promotions domain's own row, read after the rollback committed.
      const row = await getPromotion(ctx.db, ctx.identity, promotion.id);
      if (!row) throw notFound("promotion");
      return { promotion: row, job };
    },
  },
  Promotion: {
    job: async (p, _, ctx) => {
      requireJobReader(ctx);
      return (await rolloutLoaders(ctx).jobsOfPromotion.load(p.id))[0] ?? null;
    },
    jobs: (p, _, ctx) => {
      requireJobReader(ctx);
      return rolloutLoaders(ctx).jobsOfPromotion.load(p.id);
    },
  },
  DeploymentJob: {
    batchCount: async (job, _, ctx) => {
      const tasks = await rolloutLoaders(ctx).tasksOfJob.load(job.id);
      return tasks.reduce((max, t) => Math.max(max, t.batchIndex + 1), 0);
    },
    rollbackOf: (job, _, ctx) => (job.rollbackOf ? rolloutLoaders(ctx).job.load(job.rollbackOf) : null),
    tasks: (job, _, ctx) => rolloutLoaders(ctx).tasksOfJob.load(job.id),
  },
  DeploymentTask: {
    agent: async (task, _, ctx) => {
      const agent = await ctx.loaders.agent.load(task.agentId);
      if (!agent) throw new Error(`task ${task.id} names a missing agent`);
      return agent;
    },
    deploymentObject: (task, _, ctx) =>
      task.deploymentObjectId ? ctx.loaders.deploymentObject.load(task.deploymentObjectId) : null,
    health: (task, _, ctx) => (task.deploymentObjectId ? rolloutLoaders(ctx).health.load(task.id) : null),
  },
};
