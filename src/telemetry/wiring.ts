import type { UpgradeGate } from "../http/upgrade-gate.js";
import type { IdentityResolver } from "../auth/identity.js";
import type { TelemetryLimits } from "../config.js";
import type { Database } from "../db/client.js";
import type { DeliveryHub } from "../delivery/hub.js";
import type { NotificationListener } from "../delivery/listener.js";
import type { Scheduler } from "../scheduler/scheduler.js";
import { TelemetryFeed } from "./feed.js";
import { LiveTailServer } from "./live-socket.js";
import { registerRetentionTask } from "./retention.js";

/** The broker's cluster telemetry: bounds, the live feed, Brokkr's live-tail websocket. */
export interface Telemetry {
  limits: TelemetryLimits;
  feed: TelemetryFeed;
  live: LiveTailServer;
}

export interface TelemetryDeps {
  db: Database;
  listener: NotificationListener;
  scheduler: Scheduler;
  identities: IdentityResolver;
  delivery: DeliveryHub;
  limits: TelemetryLimits;
  maxBufferBytes: number;
  /** The broker's one cap on sockets not yet authenticated. */
  gate: UpgradeGate;
  onFault: (err: unknown) => void;
}

/** Builds telemetry and registers its retention task; nothing listens until the broker starts. */
export function createTelemetry(deps: TelemetryDeps): Telemetry {
  const feed = new TelemetryFeed(deps.db, deps.listener);
  registerRetentionTask(deps.scheduler, deps.db, deps.limits);
  const live = new LiveTailServer({ ...deps, feed });
  return { limits: deps.limits, feed, live };
}
