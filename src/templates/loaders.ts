import DataLoader from "dataloader";
import type { Db } from "../db/client.js";
import type { Loaders } from "../graphql/loaders.js";
import * as store from "./store.js";

/*
 * Batching loaders of this domain, one set per request context (keyed by its `loaders`, which
 * the context factory makes per request and per websocket operation). They batch but do not
 * cache, so a long-lived subscription context never serves a stale row.
 */
function grouped<T, V>(rows: T[], ids: readonly string[], keyOf: (row: T) => string, valueFn: (row: T) => V): V[][] {
  const map = new Map<string, V[]>(ids.map((id) => [id, []]));
  for (const row of rows) map.get(keyOf(row))?.push(valueFn(row));
  return ids.map((id) => map.get(id) ?? []);
}

function byKey<T>(rows: T[], ids: readonly string[], keyOf: (row: T) => string): (T | null)[] {
  const map = new Map(rows.map((r) => [keyOf(r), r]));
  return ids.map((id) => map.get(id) ?? null);
}

function create(db: Db) {
  const options = { cache: false };
  return {
    template: new DataLoader(
      async (ids: readonly string[]) => byKey(await store.findTemplatesByIds(db, ids), ids, (t) => t.id),
      options,
    ),
    labels: new DataLoader(
      async (ids: readonly string[]) =>
        grouped(
          await store.labelsOfTemplates(db, ids),
          ids,
          (r) => r.templateId,
          (r) => r.label,
        ),
      options,
    ),
    annotations: new DataLoader(
      async (ids: readonly string[]) =>
        grouped(
          await store.annotationsOfTemplates(db, ids),
          ids,
          (r) => r.templateId,
          (r) => ({ key: r.key, value: r.value }),
        ),
      options,
    ),
    provenance: new DataLoader(
      async (ids: readonly string[]) => byKey(await store.provenanceOfObjects(db, ids), ids, (p) => p.deploymentObjectId),
      options,
    ),
  };
}

const perContext = new WeakMap<Loaders, ReturnType<typeof create>>();

export function templateLoaders(ctx: { db: Db; loaders: Loaders }): ReturnType<typeof create> {
  let loaders = perContext.get(ctx.loaders);
  if (!loaders) perContext.set(ctx.loaders, (loaders = create(ctx.db)));
  return loaders;
}
