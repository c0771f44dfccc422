import DataLoader from "dataloader";
import type { Db } from "../db/client.js";
import type { Loaders } from "../graphql/loaders.js";
import { jobsByIds, jobsOfPromotions, type JobRow } from "./job-store.js";
import { healthOfTasks, tasksOfJobs, type TaskRow } from "./task-store.js";

/*
 * This domain's batching loaders, one set per request context (keyed by its `loaders`); they
 * batch but do not cache, so a long-lived subscription context never serves a stale row.
 */
function grouped<T>(rows: T[], ids: readonly string[], keyOf: (row: T) => string): T[][] {
  const map = new Map<string, T[]>(ids.map((id) => [id, []]));
  for (const row of rows) map.get(keyOf(row))?.push(row);
  return ids.map((id) => map.get(id) ?? []);
}

function create(db: Db) {
  const options = { cache: false };
  return {
    jobsOfPromotion: new DataLoader<string, JobRow[]>(
      async (ids) => grouped(await jobsOfPromotions(db, ids), ids, (j) => j.promotionId),
      options,
    ),
    job: new DataLoader<string, JobRow | null>(async (ids) => {
      const rows = new Map((await jobsByIds(db, ids)).map((j) => [j.id, j]));
      return ids.map((id) => rows.get(id) ?? null);
    }, options),
    tasksOfJob: new DataLoader<string, TaskRow[]>(
      async (ids) => grouped(await tasksOfJobs(db, ids), ids, (t) => t.jobId),
      options,
    ),
    health: new DataLoader<string, string | null>(async (ids) => {
      const health = await healthOfTasks(db, ids);
      return ids.map((id) => health.get(id) ?? null);
    }, options),
  };
}

const perContext = new WeakMap<Loaders, ReturnType<typeof create>>();

export function rolloutLoaders(ctx: { db: Db; loaders: Loaders }): ReturnType<typeof create> {
  let loaders = perContext.get(ctx.loaders);
  if (!loaders) perContext.set(ctx.loaders, (loaders = create(ctx.db)));
  return loaders;
}
