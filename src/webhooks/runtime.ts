import type { WebhookConfig } from "../config.js";
import type { Database } from "../db/client.js";
import type { NotificationListener } from "../delivery/listener.js";
import type { Scheduler } from "../scheduler/scheduler.js";
import { createKeyring } from "./keyring.js";
import { WebhookOutcomeFeed } from "./outcome-feed.js";
import type { WebhookDeps } from "./service.js";
import { registerWebhookTasks } from "./worker.js";

/** The webhooks domain as the broker wires it: its dependencies, its live feed, its tasks. */
export interface Webhooks extends WebhookDeps {
  outcomes: WebhookOutcomeFeed;
}

export function createWebhooks(
  db: Database,
  /** Read again by the tasks at each run (live configuration); the key and retry base at start. */
  config: () => WebhookConfig,
  scheduler: Scheduler,
  listener: NotificationListener,
): Webhooks {
  const webhooks: Webhooks = {
    db,
    cipher: createKeyring(db, config().encryptionKey),
    retryBaseMs: config().retryBaseMs,
    outcomes: new WebhookOutcomeFeed(db, listener),
  };
  registerWebhookTasks(scheduler, webhooks, config);
  return webhooks;
}
