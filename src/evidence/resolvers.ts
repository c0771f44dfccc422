import { requireIdentity } from "../auth/policy.js";
import type { Resolvers } from "../generated/graphql.js";
import { evidenceLoader } from "./loaders.js";
import { listSigningKeys } from "./store.js";

export const evidenceResolvers: Resolvers = {
  Query: {
    // Public keys: any authenticated caller may verify packets.
    evidenceSigningKeys: async (_, __, ctx) => {
      requireIdentity(ctx.identity);
      const current = await ctx.evidence.signer();
      return listSigningKeys(ctx.db, current.keyId);
    },
  },
  Promotion: {
    evidence: (promotion, _, ctx) => evidenceLoader(ctx).load(promotion.id),
  },
};
