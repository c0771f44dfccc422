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

/** Builds each member on first use: a subscription's context rarely touches most loaders. */
function lazy<T extends Record<string, () => unknown>>(factories: T): { readonly [K in keyof T]: ReturnType<T[K]> } {
  const out: Record<string, unknown> = {};
  for (const [key, make] of Object.entries(factories)) {
    Object.defineProperty(out, key, {
      configurable: true,
      enumerable: true,
      get() {
        const value = make();
        Object.defineProperty(out, key, { value, enumerable: true });
        return value;
      },
    });
  }
  // The getters defined above give each key its factory's result; TypeScript cannot follow defineProperty.
  return out as { readonly [K in keyof T]: ReturnType<T[K]> };
}

/**
 * Batching loaders, made per request (per websocket operation without a cache, since a
 * subscription lives long and must not serve stale rows), so a
 * page of N stacks with labels, annotations, latest object and targeted agents costs a
 * constant number of statements.
 */
export function createLoaders(db: Db, cache = true) {
  const DataLoader = class<K, V> extends BaseLoader<K, V> {
    constructor(batch: BaseLoader.BatchLoadFn<K, V>) {
      super(batch, { cache });
    }
  };
  return lazy({
    generator: () => new DataLoader(async (ids: readonly string[]) => byId(await generators.findGeneratorsByIds(db, ids), ids)),
    stack: () => new DataLoader(async (ids: readonly string[]) => byId(await stacks.findStacksByIds(db, ids), ids)),
    agent: () => new DataLoader(async (ids: readonly string[]) => byId(await agents.findAgentsByIds(db, ids), ids)),
    deploymentObject: () => new DataLoader(async (ids: readonly string[]) => byId(await objects.findObjectsByIds(db, ids), ids)),
    stackLabels: () =>
      new DataLoader(async (ids: readonly string[]) =>
        grouped(
          await stacks.labelsOfStacks(db, ids),
          ids,
          (r) => r.stackId,
          (r) => r.label,
        ),
      ),
    stackAnnotations: () =>
      new DataLoader(async (ids: readonly string[]) =>
        grouped(
          await stacks.annotationsOfStacks(db, ids),
          ids,
          (r) => r.stackId,
          (r) => ({ key: r.key, value: r.value }),
        ),
      ),
    stackTargetedAgents: () =>
      new DataLoader(async (ids: readonly string[]) =>
        grouped(
          await stacks.targetsOfStacks(db, ids),
          ids,
          (r) => r.stackId,
          (r) => r.agent,
        ),
      ),
    latestObject: () =>
      new DataLoader(async (ids: readonly string[]) => {
        const rows = await objects.latestObjectsOfStacks(db, ids);
        const map = new Map(rows.map((r) => [r.stackId, r]));
        return ids.map((id) => map.get(id) ?? null);
      }),
    agentLabels: () =>
      new DataLoader(async (ids: readonly string[]) =>
        grouped(
          await agents.labelsOfAgents(db, ids),
          ids,
          (r) => r.agentId,
          (r) => r.label,
        ),
      ),
    agentAnnotations: () =>
      new DataLoader(async (ids: readonly string[]) =>
        grouped(
          await agents.annotationsOfAgents(db, ids),
          ids,
          (r) => r.agentId,
          (r) => ({ key: r.key, value: r.value }),
        ),
      ),
    agentTargets: () =>
      new DataLoader(async (ids: readonly string[]) =>
        grouped(
          await agents.targetsOfAgents(db, ids),
          ids,
          (r) => r.agentId,
          (r) => r.stack,
        ),
      ),
    agentRegistrations: () =>
      new DataLoader(async (ids: readonly string[]) =>
        grouped(
          await agents.registrationsOfAgents(db, ids),
          ids,
          (r) => r.agentId,
          (r) => r.generator,
        ),
      ),
  });
}

export type Loaders = ReturnType<typeof createLoaders>;

/** The row a foreign key points at: its absence is a broken invariant (an internal error), not a null. */
export async function referenced<T>(loader: { load(id: string): Promise<T | null> }, id: string): Promise<T> {
  const row = await loader.load(id);
  if (row === null) throw new Error(`row ${id}, referenced by a foreign key, is missing`);
  return row;
}
