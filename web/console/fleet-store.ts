import { useSyncExternalStore } from "react";
import type { Client } from "urql";

export interface FleetRow {
  agent: { id: string; name: string; clusterName: string; status: "ACTIVE" | "INACTIVE"; labels: string[] };
  connection: "WEBSOCKET" | "REST" | "OFFLINE";
  since: string | null;
  lastHeartbeat: string | null;
  heartbeatAgeSeconds: number | null;
  k8sReachable: boolean | null;
  k8sApiLatencyMs: number | null;
  pendingObjects: number;
  lastEvent: { status: "SUCCESS" | "FAILURE"; message: string | null; createdAt: string } | null;
  health: { healthy: number; degraded: number; failing: number; unknown: number };
}

const STATUS = `agent { id name clusterName status labels } connection since lastHeartbeat heartbeatAgeSeconds
  k8sReachable k8sApiLatencyMs pendingObjects lastEvent { status message createdAt }
  health { healthy degraded failing unknown }`;
const PAGE = `query($after: String) { fleet(first: 500, after: $after) {
  edges { node { ${STATUS} } } pageInfo { hasNextPage endCursor } } }`;
const CHANGES = `subscription { fleetChanges { kind agentId status { ${STATUS} } } }`;
/** Renders at most this often while changes stream in (10,000 agents heartbeat every 30 s). */
const NOTIFY_MS = 250;

/**
 * The whole fleet in the browser: subscribed to fleetChanges first (so nothing between the
 * pages and the stream is lost), then loaded 500 agents a page; each change replaces its row.
 */
export class FleetStore {
  private rows = new Map<string, FleetRow>();
  private snapshot: { rows: FleetRow[]; loading: boolean; error: string | null } = { rows: [], loading: true, error: null };
  private readonly listeners = new Set<() => void>();
  private timer: number | undefined;
  private readonly stopStream: () => void;

  constructor(private readonly client: Client) {
    const stream = client.subscription(CHANGES, {}).subscribe((result) => {
      const change = result.data?.fleetChanges as { status: FleetRow } | undefined;
      if (!change) return;
      this.rows.set(change.status.agent.id, change.status);
      this.changed();
    });
    this.stopStream = () => stream.unsubscribe();
    void this.load();
  }

  private async load(): Promise<void> {
    let after: string | null = null;
    do {
      const result = await this.client.query(PAGE, { after }, { requestPolicy: "network-only" }).toPromise();
      if (result.error || !result.data) {
        this.snapshot = { ...this.snapshot, loading: false, error: result.error?.message ?? "no data" };
        return this.emit();
      }
      const page = result.data.fleet as { edges: { node: FleetRow }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
      // A row the stream already replaced is newer than the page.
      for (const { node } of page.edges) if (!this.rows.has(node.agent.id)) this.rows.set(node.agent.id, node);
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      this.changed();
    } while (after);
    this.snapshot = { ...this.snapshot, loading: false };
    this.changed();
  }

  private changed(): void {
    this.timer ??= window.setTimeout(() => {
      this.timer = undefined;
      this.emit();
    }, NOTIFY_MS);
  }

  private emit(): void {
    const rows = [...this.rows.values()].sort(
      (a, b) => a.agent.name.localeCompare(b.agent.name) || a.agent.id.localeCompare(b.agent.id),
    );
    this.snapshot = { ...this.snapshot, rows };
    for (const fn of this.listeners) fn();
  }

  subscribe = (fn: () => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  get = () => this.snapshot;

  dispose(): void {
    this.stopStream();
    window.clearTimeout(this.timer);
  }
}

export function useFleet(store: FleetStore) {
  return useSyncExternalStore(store.subscribe, store.get);
}

/** Problems first: what an operator must look at. */
export const PENDING_TOO_LONG_SECONDS = 300;
export const isFailing = (r: FleetRow) => r.health.failing > 0 || r.lastEvent?.status === "FAILURE";
export const isOffline = (r: FleetRow) => r.agent.status === "ACTIVE" && r.connection === "OFFLINE";
export const isInactive = (r: FleetRow) => r.agent.status === "INACTIVE";
export function isPendingTooLong(r: FleetRow, now = Date.now()): boolean {
  if (r.pendingObjects === 0) return false;
  const last = r.lastEvent ? Date.parse(r.lastEvent.createdAt) : 0;
  return now - last > PENDING_TOO_LONG_SECONDS * 1000;
}
