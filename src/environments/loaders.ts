import DataLoader from "dataloader";
import type { Db } from "../db/client.js";
import type { Loaders } from "../graphql/loaders.js";
import * as service from "./service.js";

/*
 * Per request context (keyed by its `loaders`), batching without a cache, as the templates'
 * loaders: a page of environments costs one membership statement, not one per environment.
 */
function create(db: Db) {
  const options = { cache: false };
  return {
    agents: new DataLoader((ids: readonly string[]) => service.agentsOfEnvironments(db, ids), options),
    explicitMembers: new DataLoader((ids: readonly string[]) => service.explicitMembersOf(db, ids), options),
  };
}

const perContext = new WeakMap<Loaders, ReturnType<typeof create>>();

export function environmentLoaders(ctx: { db: Db; loaders: Loaders }): ReturnType<typeof create> {
  let loaders = perContext.get(ctx.loaders);
  if (!loaders) perContext.set(ctx.loaders, (loaders = create(ctx.db)));
  return loaders;
}
