import DataLoader from "dataloader";
import type { Db } from "../db/client.js";
import { findEnvironmentsByIds, type EnvironmentRow } from "../environments/store.js";
import type { Loaders } from "../graphql/loaders.js";
import * as store from "./store.js";
import type { ReleaseComponentLink, ReleaseRow } from "./store.js";

function grouped<T>(rows: T[], ids: readonly string[], keyOf: (row: T) => string): T[][] {
  const map = new Map<string, T[]>(ids.map((id) => [id, []]));
  for (const row of rows) map.get(keyOf(row))?.push(row);
  return ids.map((id) => map.get(id) ?? []);
}

async function currentReleases(db: Db, environmentIds: readonly string[]): Promise<(ReleaseRow | null)[]> {
  const links = await store.currentReleaseOfEnvironments(db, environmentIds);
  const releases = new Map(
    (
      await store.findReleasesByIds(
        db,
        links.map((l) => l.releaseId),
      )
    ).map((r) => [r.id, r]),
  );
  const byEnv = new Map(links.map((l) => [l.environmentId, releases.get(l.releaseId) ?? null]));
  return environmentIds.map((id) => byEnv.get(id) ?? null);
}

async function deployedTo(db: Db, releaseIds: readonly string[]): Promise<EnvironmentRow[][]> {
  const links = await store.environmentsCurrentlyOn(db, releaseIds);
  const envs = new Map(
    (
      await findEnvironmentsByIds(
        db,
        links.map((l) => l.environmentId),
      )
    ).map((e) => [e.id, e]),
  );
  return grouped(links, releaseIds, (l) => l.releaseId).map((ls) => ls.flatMap((l) => envs.get(l.environmentId) ?? []));
}

function byId<T extends { id: string }>(rows: T[], ids: readonly string[]): (T | null)[] {
  const map = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => map.get(id) ?? null);
}

/* Per request context, batching without a cache (see src/templates/loaders.ts). */
function create(db: Db) {
  const options = { cache: false };
  return {
    components: new DataLoader(
      async (ids: readonly string[]): Promise<ReleaseComponentLink[][]> =>
        grouped(await store.componentsOfReleases(db, ids), ids, (l) => l.releaseId),
      options,
    ),
    currentRelease: new DataLoader((ids: readonly string[]) => currentReleases(db, ids), options),
    deployedTo: new DataLoader((ids: readonly string[]) => deployedTo(db, ids), options),
    release: new DataLoader(async (ids: readonly string[]) => byId(await store.findReleasesByIds(db, ids), ids), options),
    environment: new DataLoader(async (ids: readonly string[]) => byId(await findEnvironmentsByIds(db, ids), ids), options),
  };
}

const perContext = new WeakMap<Loaders, ReturnType<typeof create>>();

export function releaseLoaders(ctx: { db: Db; loaders: Loaders }): ReturnType<typeof create> {
  let loaders = perContext.get(ctx.loaders);
  if (!loaders) perContext.set(ctx.loaders, (loaders = create(ctx.db)));
  return loaders;
}
