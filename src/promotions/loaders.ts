import DataLoader from "dataloader";
import type { GraphQLContext } from "../graphql/context.js";
import { findUsersByIds, type UserRow } from "../users/store.js";
import { type ApprovalRow, approvalsOfPromotions } from "./store.js";

interface PromotionLoaders {
  approvals: DataLoader<string, ApprovalRow[]>;
  user: DataLoader<string, UserRow | null>;
}

// Per context (one request, or one websocket operation): made on first use, never module-wide.
const byContext = new WeakMap<GraphQLContext, PromotionLoaders>();

export function promotionLoaders(ctx: GraphQLContext): PromotionLoaders {
  let loaders = byContext.get(ctx);
  if (!loaders) {
    // A subscription's context outlives its events: it must read afresh each time.
    const cache = ctx.connection === undefined;
    loaders = {
      approvals: new DataLoader(
        async (ids) => {
          const rows = await approvalsOfPromotions(ctx.db, ids);
          return ids.map((id) => rows.filter((r) => r.promotionId === id));
        },
        { cache },
      ),
      user: new DataLoader(
        async (ids) => {
          const rows = await findUsersByIds(ctx.db, ids);
          return ids.map((id) => rows.find((r) => r.id === id) ?? null);
        },
        { cache },
      ),
    };
    byContext.set(ctx, loaders);
  }
  return loaders;
}
