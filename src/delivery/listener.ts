import { EventEmitter } from "node:events";
import pg from "pg";
import { moduleLogger } from "../logger.js";

const log = moduleLogger("listener");
export const CHANNELS = [
  "brokkr_objects",
  "brokkr_associations",
  "brokkr_agent_events",
  "brokkr_identities",
  "brokkr_diagnostics",
  "brokkr_telemetry",
  "brokkr_work_orders",
  "brokkr_webhook_deliveries",
  // Fleet status changes (connections, heartbeats, health; migration 0016) for the live fleet.
  "brokkr_fleet",
  // Queued work orders and diagnostic requests changed (migration 0023), for operators' live pages.
  "brokkr_work_order_changes",
  "brokkr_diagnostic_changes",
  // Any change to a promotion, its approvals, job, tasks or evidence (migration 0019), by id.
  "brokkr_promotions",
] as const;
export type Channel = (typeof CHANNELS)[number];

export interface ListenerEvents {
  notification: [channel: Channel, payload: string];
  /** After every (re)connect: notifications sent while away are gone, so consumers resync. */
  resync: [];
}

export interface ListenerOptions {
  connectTimeoutMs?: number;
  /** How often the idle connection is checked: a stalled server or a silent network drop sends no error. */
  heartbeatMs?: number;
  /** Every error of the connection (logged and counted by the caller); it is recovered from here. */
  onFault?: (err: unknown) => void;
}

/**
 * One dedicated connection per broker process that LISTENs (not through Prisma's pool).
 * Reconnects with capped exponential backoff and announces a resync after each reconnect.
 * Every client it creates has an 'error' handler from birth: an unhandled one ends the process.
 */
export class NotificationListener extends EventEmitter<ListenerEvents> {
  private client: pg.Client | null = null;
  private stopped = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  connected = false;
  reconnects = 0;

  constructor(
    private readonly url: string,
    private readonly options: ListenerOptions = {},
  ) {
    super();
  }

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.url,
      application_name: "brokkr-listener",
      keepAlive: true,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5000,
    });
    client.on("error", (err) => this.lost(client, err));
    client.on("end", () => this.lost(client));
    client.on("notification", (msg) => {
      const channel = CHANNELS.find((c) => c === msg.channel);
      if (channel) this.emit("notification", channel, msg.payload ?? "");
    });
    try {
      await client.connect();
      for (const channel of CHANNELS) await client.query(`LISTEN ${channel}`);
    } catch (err) {
      // Connected but LISTEN failed (server shutting down): do not leak the connection.
      client.end().catch(() => {});
      throw err;
    }
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.connected = true;
    this.attempt = 0;
    this.beat(client);
    this.emit("resync");
  }

  private beat(client: pg.Client): void {
    const every = this.options.heartbeatMs ?? 10_000;
    // pg honours a per-query query_timeout; @types/pg declares it on the client config only.
    const heartbeatQuery: pg.QueryConfig & { query_timeout: number } = { text: "SELECT 1", query_timeout: every / 2 };
    this.heartbeat = setInterval(() => {
      client.query(heartbeatQuery).catch((err) => this.lost(client, err));
    }, every);
    this.heartbeat.unref();
  }

  private lost(client: pg.Client, err?: Error): void {
    if (this.client !== client || this.stopped) return;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.client = null;
    this.connected = false;
    log.warn("listener connection lost; reconnecting");
    this.options.onFault?.(err ?? new Error("listener connection ended"));
    client.end().catch(() => {});
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = Math.min(5000, 100 * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
    this.timer = setTimeout(() => {
      if (this.stopped) return;
      this.reconnects++;
      this.connect().catch((err) => {
        this.options.onFault?.(err);
        if (!this.stopped) this.scheduleReconnect();
      });
    }, delay);
  }

  /** Test hook and operational aid: drop the connection as a network fault would. */
  simulateConnectionLoss(): void {
    const client = this.client;
    if (client) this.lost(client, new Error("simulated connection loss"));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    const client = this.client;
    this.client = null;
    this.connected = false;
    await client?.end().catch(() => {});
  }
}
