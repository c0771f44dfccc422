import DataLoader from "dataloader";
import type { GraphQLContext } from "../graphql/context.js";
import * as store from "./store.js";
import type { ReleaseContextRow, StickerRow } from "./store.js";

/** Environments one agent can hold current stickers in, at most, per batch entry (bounds one read). */
const MAX_ENVIRONMENTS_PER_AGENT = 100;

interface StickerLoaders {
  releaseContext: DataLoader<string, ReleaseContextRow | null>;
  agentStickers: DataLoader<string, StickerRow[]>;
}

/**
 * One set per request or websocket operation (as graphql/loaders.ts builds its own): a
 * subscription's context lives on, so there they batch without caching.
 */
const perContext = new WeakMap<GraphQLContext, StickerLoaders>();

export function stickerLoaders(ctx: GraphQLContext): StickerLoaders {
  let loaders = perContext.get(ctx);
  if (!loaders) {
    const cache = !ctx.connection;
    loaders = {
      releaseContext: new DataLoader(
        async (ids: readonly string[]) => {
          const rows = new Map((await store.releaseContextsOf(ctx.db, ids)).map((r) => [r.deploymentObjectId, r]));
          return ids.map((id) => rows.get(id) ?? null);
        },
        { cache },
      ),
      agentStickers: new DataLoader(
        async (ids: readonly string[]) => {
          const rows = await store.currentStickers(ctx.db, { agentIds: ids, limit: ids.length * MAX_ENVIRONMENTS_PER_AGENT });
          return ids.map((id) => rows.filter((r) => r.agentId === id));
        },
        { cache },
      ),
    };
    perContext.set(ctx, loaders);
  }
  return loaders;
}
