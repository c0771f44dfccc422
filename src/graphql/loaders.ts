import BaseLoader from "dataloader";
import * as agents from "../agents/store.js";
import type { Db } from "../db/client.js";
import * as objects from "../deployment-objects/store.js";
import * as generators from "../generators/store.js";
import * as stacks from "../stacks/store.js";

function byId<T extends { id: string }>(rows: T[], ids: readonly string[]): (T | null)[] {
  const map = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => map.get(id) ?? null);
}

function grouped<T, V>(rows: T[], ids: readonly string[], keyOf: (row: T) => string, valueOf: (row: T) => V): V[][] {
  const map = new Map<string, V[]>(ids.map((id) => [id, []]));
  for (const row of rows) map.get(keyOf(row))?.push(valueOf(row));
  return ids.map((id) => map.get(id) ?? []);
}

/**
 * Each loader's batch function, by name. A request's loaders are made on first use (a
 * subscription's context rarely touches most of them) from getters on one shared prototype:
 * building a closure and a getter per loader per request took about 20 µs of every request.
 */
const BATCHES = {
  generator: (db: Db) => async (ids: readonly string[]) => byId(await generators.findGeneratorsByIds(db, ids), ids),
  stack: (db: Db) => async (ids: readonly string[]) => byId(await stacks.findStacksByIds(db, ids), ids),
  agent: (db: Db) => async (ids: readonly string[]) => byId(await agents.findAgentsByIds(db, ids), ids),
  deploymentObject: (db: Db) => async (ids: readonly string[]) => byId(await objects.findObjectsByIds(db, ids), ids),
  stackLabels: (db: Db) => async (ids: readonly string[]) =>
    grouped(
      await stacks.labelsOfStacks(db, ids),
      ids,
      (r) => r.stackId,
      (r) => r.label,
    ),
  stackAnnotations: (db: Db) => async (ids: readonly string[]) =>
    grouped(
      await stacks.annotationsOfStacks(db, ids),
      ids,
      (r) => r.stackId,
      (r) => ({ key: r.key, value: r.value }),
    ),
  stackTargetedAgents: (db: Db) => async (ids: readonly string[]) =>
    grouped(
      await stacks.targetsOfStacks(db, ids),
      ids,
      (r) => r.stackId,
      (r) => r.agent,
    ),
  latestObject: (db: Db) => async (ids: readonly string[]) => {
    const rows = await objects.latestObjectsOfStacks(db, ids);
    const map = new Map(rows.map((r) => [r.stackId, r]));
    return ids.map((id) => map.get(id) ?? null);
  },
  agentLabels: (db: Db) => async (ids: readonly string[]) =>
    grouped(
      await agents.labelsOfAgents(db, ids),
      ids,
      (r) => r.agentId,
      (r) => r.label,
    ),
  agentAnnotations: (db: Db) => async (ids: readonly string[]) =>
    grouped(
      await agents.annotationsOfAgents(db, ids),
      ids,
      (r) => r.agentId,
      (r) => ({ key: r.key, value: r.value }),
    ),
  agentTargets: (db: Db) => async (ids: readonly string[]) =>
    grouped(
      await agents.targetsOfAgents(db, ids),
      ids,
      (r) => r.agentId,
      (r) => r.stack,
    ),
  agentRegistrations: (db: Db) => async (ids: readonly string[]) =>
    grouped(
      await agents.registrationsOfAgents(db, ids),
      ids,
      (r) => r.agentId,
      (r) => r.generator,
    ),
} satisfies Record<string, (db: Db) => BaseLoader.BatchLoadFn<string, unknown>>;

type Batches = typeof BATCHES;
export type Loaders = {
  readonly [K in keyof Batches]: BaseLoader<string, Awaited<ReturnType<ReturnType<Batches[K]>>>[number]>;
};

class RequestLoaders {
  constructor(
    readonly db: Db,
    readonly cache: boolean,
  ) {}
}
for (const [name, batch] of Object.entries(BATCHES) as [string, (db: Db) => BaseLoader.BatchLoadFn<string, unknown>][]) {
  Object.defineProperty(RequestLoaders.prototype, name, {
    get(this: RequestLoaders) {
      const loader = new BaseLoader(batch(this.db), { cache: this.cache });
      Object.defineProperty(this, name, { value: loader, enumerable: true });
      return loader;
    },
  });
}

/**
 * Batching loaders, made per request (per websocket operation without a cache, since a
 * subscription lives long and must not serve stale rows), so a
 * page of N stacks with labels, annotations, latest object and targeted agents costs a
 * constant number of statements.
 */
export function createLoaders(db: Db, cache = true): Loaders {
  // The getters above give each name its loader; TypeScript cannot follow defineProperty.
  return new RequestLoaders(db, cache) as unknown as Loaders;
}

/** The row a foreign key points at: its absence is a broken invariant (an internal error), not a null. */
export async function referenced<T>(loader: { load(id: string): Promise<T | null> }, id: string): Promise<T> {
  const row = await loader.load(id);
  if (row === null) throw new Error(`row ${id}, referenced by a foreign key, is missing`);
  return row;
}
