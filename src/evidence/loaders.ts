import DataLoader from "dataloader";
import type { GraphQLContext } from "../graphql/context.js";
import { type EvidencePacketRow, packetsOfPromotions } from "./store.js";

// Per context (one request, or one websocket operation): made on first use, never module-wide.
const byContext = new WeakMap<GraphQLContext, DataLoader<string, EvidencePacketRow[]>>();

/** The packets of a promotion, oldest first, one query per request for any number of promotions. */
export function evidenceLoader(ctx: GraphQLContext): DataLoader<string, EvidencePacketRow[]> {
  let loader = byContext.get(ctx);
  if (!loader) {
    loader = new DataLoader(
      async (ids) => {
        const rows = await packetsOfPromotions(ctx.db, ids);
        return ids.map((id) => rows.filter((r) => r.promotionId === id));
      },
      // A subscription's context outlives its events: it must read afresh each time.
      { cache: ctx.connection === undefined },
    );
    byContext.set(ctx, loader);
  }
  return loader;
}
