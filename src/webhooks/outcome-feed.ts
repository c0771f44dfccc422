import type { Db } from "../db/client.js";
import type { NotificationListener } from "../delivery/listener.js";
import { moduleLogger } from "../logger.js";
import { findDelivery } from "./delivery-queries.js";
import type { DeliveryRow } from "./delivery-store.js";

const log = moduleLogger("webhooks");
type Listener = { subscriptionId: string | null; fn: (row: DeliveryRow) => void };

/**
 * Delivery outcomes for consoles (subscription webhookDeliveries): every recorded attempt, on
 * any broker or agent, notifies brokkr_webhook_deliveries with the delivery id; each broker
 * loads the delivery once per notification, and only while someone listens.
 */
export class WebhookOutcomeFeed {
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly db: Db,
    listener: NotificationListener,
  ) {
    listener.on("notification", (channel, payload) => {
      if (channel === "brokkr_webhook_deliveries") void this.notified(payload);
    });
  }

  /** How many streams listen (tests wait on it as their "subscribed" signal). */
  get listening(): number {
    return this.listeners.size;
  }

  listen(subscriptionId: string | null, fn: (row: DeliveryRow) => void): () => void {
    const entry = { subscriptionId, fn };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  private async notified(deliveryId: string): Promise<void> {
    if (this.listeners.size === 0) return;
    try {
      const row = await findDelivery(this.db, deliveryId);
      if (!row) return;
      for (const l of this.listeners) if (l.subscriptionId === null || l.subscriptionId === row.subscription_id) l.fn(row);
    } catch (err) {
      log.error({ err }, "loading a webhook delivery failed");
    }
  }
}
