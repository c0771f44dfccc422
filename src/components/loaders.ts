import DataLoader from "dataloader";
import type { Db } from "../db/client.js";
import type { Loaders } from "../graphql/loaders.js";
import * as store from "./store.js";

function byId<T extends { id: string }>(rows: T[], ids: readonly string[]): (T | null)[] {
  const map = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => map.get(id) ?? null);
}

/* Per request context, batching without a cache (see src/templates/loaders.ts). */
function create(db: Db) {
  const options = { cache: false };
  return {
    component: new DataLoader(async (ids: readonly string[]) => byId(await store.findComponentsByIds(db, ids), ids), options),
    version: new DataLoader(async (ids: readonly string[]) => byId(await store.findVersionsByIds(db, ids), ids), options),
  };
}

const perContext = new WeakMap<Loaders, ReturnType<typeof create>>();

export function componentLoaders(ctx: { db: Db; loaders: Loaders }): ReturnType<typeof create> {
  let loaders = perContext.get(ctx.loaders);
  if (!loaders) perContext.set(ctx.loaders, (loaders = create(ctx.db)));
  return loaders;
}
