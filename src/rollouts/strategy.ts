import type { Strategy } from "./job-store.js";

export interface StrategySettings {
  strategy: Strategy;
  batchSize: number | null;
  batchPercent: number | null;
}

/** Agents per batch: all at once, batch_size, or batch_percent % of them rounded up (at least 1). */
export function batchLength(count: number, s: StrategySettings): number {
  if (s.strategy === "ALL_AT_ONCE" || count === 0) return Math.max(count, 1);
  if (s.batchSize) return s.batchSize;
  return Math.max(1, Math.ceil((count * (s.batchPercent ?? 100)) / 100));
}

/** The batch index of each of `count` agents, in their order. */
export function batchIndexes(count: number, s: StrategySettings): number[] {
  const length = batchLength(count, s);
  return Array.from({ length: count }, (_, i) => Math.floor(i / length));
}
