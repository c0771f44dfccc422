import { notFound } from "../errors.js";
import { exportEvidence } from "../evidence/service.js";
import type { Resolvers } from "../generated/graphql.js";
import type { GraphQLContext } from "../graphql/context.js";
import { approvePromotion, rejectPromotion } from "./decisions.js";
import { type GateVerdict, latestVerdicts } from "./gates.js";
import { promotionLoaders } from "./loaders.js";
import { getPromotion, listPromotionPage, promotionToWatch } from "./queries.js";
import { requestPromotion } from "./service.js";
import type { PromotionRow } from "./store.js";
import { releaseLoaders } from "../releases/loaders.js";

const SLOW_CONSUMER_CLOSE = 4413;

const deps = (ctx: GraphQLContext) => ({ db: ctx.db, evidence: ctx.evidence, identity: ctx.identity });
const gate = (v: GateVerdict) => ({ ...v, evaluatedAt: new Date(v.evaluatedAt) });

function guardOf(ctx: GraphQLContext) {
  const { connection } = ctx;
  return {
    onOverflow: () => connection?.close(SLOW_CONSUMER_CLOSE, "Slow consumer: send buffer exceeded"),
    backedUp: connection ? () => connection.backedUp() : undefined,
  };
}

export const promotionResolvers: Resolvers = {
  Query: {
    promotion: (_, { id }, ctx) => getPromotion(ctx.db, ctx.identity, id),
    promotions: (_, args, ctx) => listPromotionPage(ctx.db, ctx.identity, args),
    promotionEvidenceExport: async (_, { promotionId }, ctx) => {
      const promotion = await getPromotion(ctx.db, ctx.identity, promotionId);
      if (!promotion) throw notFound("promotion");
      const signer = await ctx.evidence.signer();
      return exportEvidence(ctx.db, serialisable(promotion), signer.keyId);
    },
  },
  Mutation: {
    requestPromotion: async (_, { input }, ctx) => ({ promotion: await requestPromotion(deps(ctx), input) }),
    approvePromotion: async (_, { input }, ctx) => ({ promotion: await approvePromotion(deps(ctx), input) }),
    rejectPromotion: async (_, { input }, ctx) => ({ promotion: await rejectPromotion(deps(ctx), input) }),
  },
  Subscription: {
    promotionProgress: {
      // Authorized (and the promotion found) before the stream opens.
      subscribe: async (_, { promotionId }, ctx) => {
        const promotion = await promotionToWatch(ctx.db, ctx.identity, promotionId);
        return ctx.promotions.subscribe(promotion.id, guardOf(ctx));
      },
      resolve: (row: PromotionRow) => row,
    },
  },
  Promotion: {
    // The promotion's reader may read what it names (environments and releases are readable by every promotion reader).
    release: async (p, _, ctx) =>
      (await releaseLoaders(ctx).release.load(p.releaseId)) ?? Promise.reject(new Error(`release ${p.releaseId} not found`)),
    targetEnvironment: async (p, _, ctx) =>
      (await releaseLoaders(ctx).environment.load(p.targetEnvironmentId)) ??
      Promise.reject(new Error(`environment ${p.targetEnvironmentId} not found`)),
    sourceEnvironment: (p, _, ctx) =>
      p.sourceEnvironmentId ? releaseLoaders(ctx).environment.load(p.sourceEnvironmentId) : null,
    gates: (p) => latestVerdicts(p.decisionRecord).map(gate),
    decisionRecord: (p) => p.decisionRecord.map(gate),
    approvals: (p, _, ctx) => promotionLoaders(ctx).approvals.load(p.id),
    requestedBy: (p) => ({ userId: p.requestedByUserId, generatorId: p.requestedByGeneratorId }),
  },
  PromotionRequester: {
    user: (r, _, ctx) => (r.userId ? promotionLoaders(ctx).user.load(r.userId) : null),
    generator: (r, _, ctx) => (r.generatorId ? ctx.loaders.generator.load(r.generatorId) : null),
  },
  PromotionApproval: {
    approver: async (a, _, ctx) => {
      const user = await promotionLoaders(ctx).user.load(a.approverId);
      if (!user) throw new Error(`approver ${a.approverId} of approval ${a.id} not found`);
      return user;
    },
  },
};

/** The promotion as the export carries it (JSON: dates as ISO strings). */
function serialisable(p: PromotionRow): { id: string } & Record<string, unknown> {
  return JSON.parse(JSON.stringify(p));
}
