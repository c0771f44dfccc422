import type { Db } from "../db/client.js";
import type { NotificationListener } from "../delivery/listener.js";
import type { Scheduler } from "../scheduler/scheduler.js";
import { WorkOrderFeed } from "./feed.js";
import { requeueDue } from "./service.js";

/** The scheduler's name for the requeue pass (tests: `app.scheduler.runNow(WORK_ORDER_MAINTENANCE)`). */
export const WORK_ORDER_MAINTENANCE = "work-order-maintenance";

/**
 * Work orders' part of the broker: the push feed on the broker's LISTEN connection, and the
 * maintenance task (due retries and stale claims back to PENDING; safe on many brokers at once,
 * see store.REQUEUE_SQL). Its requeues notify through the table's trigger, which wakes the feed.
 */
export function registerWorkOrders(deps: {
  db: Db;
  listener: NotificationListener;
  scheduler: Scheduler;
  /** A function: read before each wait, so a configuration reload changes it. */
  maintenanceIntervalSeconds: () => number;
}): WorkOrderFeed {
  deps.scheduler.register({
    name: WORK_ORDER_MAINTENANCE,
    intervalMs: () => deps.maintenanceIntervalSeconds() * 1000,
    run: () => requeueDue(deps.db),
  });
  return new WorkOrderFeed(deps.db, deps.listener);
}
