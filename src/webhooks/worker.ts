import type { WebhookConfig } from "../config.js";
import type { Scheduler } from "../scheduler/scheduler.js";
import { performAttempt } from "./deliver.js";
import { buryExhausted, claimDue, deleteOld, fanOut, recordAttempts } from "./delivery-store.js";
import type { WebhookDeps } from "./service.js";

export const DELIVERY_TASK = "webhook-delivery";
export const CLEANUP_TASK = "webhook-cleanup";
/** Rows the clean-up deletes per table per run: a long backlog drains over several runs, in short statements. */
const CLEANUP_BATCH = 10_000;
/**
 * Events fanned out per statement, and statements per run while the outbox is full: the batch
 * size (Brokkr's 50) bounds delivery attempts, not how fast events are read, or a busy broker's
 * outbox (every change is an event) would outgrow 50 events per interval.
 */
const FANOUT_BATCH = 1000;
const MAX_FANOUT_ROUNDS = 10;

/**
 * One delivery run: fan new events out into deliveries (up to MAX_FANOUT_ROUNDS × FANOUT_BATCH), bury claims that died on their last
 * attempt, then claim up to `batchSize` due broker-routed deliveries and attempt them all at
 * once, then record the batch's attempts in one statement. Every step is safe beside the same run on other brokers (SKIP LOCKED claims, unique
 * deliveries, fenced attempt records).
 */
export async function runDelivery(deps: WebhookDeps, batchSize: number, signal?: AbortSignal): Promise<number> {
  for (let round = 0; round < MAX_FANOUT_ROUNDS && !signal?.aborted; round++) {
    if ((await fanOut(deps.db, FANOUT_BATCH)).events < FANOUT_BATCH) break;
  }
  await buryExhausted(deps.db);
  if (signal?.aborted) return 0;
  const claimed = await claimDue(deps.db, batchSize, null);
  if (claimed.length === 0) return 0;
  const cipher = await deps.cipher();
  const records = await Promise.all(claimed.map((row) => performAttempt(cipher, row, deps.retryBaseMs)));
  await recordAttempts(deps.db, null, records);
  return claimed.length;
}

/** `config` is read at each run: interval, batch size and retention change on a configuration reload. */
export function registerWebhookTasks(scheduler: Scheduler, deps: WebhookDeps, config: () => WebhookConfig): void {
  scheduler.register({
    name: DELIVERY_TASK,
    intervalMs: () => config().deliveryIntervalMs,
    run: (signal) => runDelivery(deps, config().batchSize, signal),
  });
  scheduler.register({
    name: CLEANUP_TASK,
    intervalMs: () => config().cleanupIntervalMs,
    run: () => deleteOld(deps.db, new Date(Date.now() - config().retentionMs), CLEANUP_BATCH),
  });
}
