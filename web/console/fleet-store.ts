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
  /** The broker's verdicts (src/fleet/service.ts): one rule for every UI. */
  failing: boolean;
  overdueObjects: number;
  lastEvent: { status: "SUCCESS" | "FAILURE"; message: string | null; createdAt: string } | null;
  health: { healthy: number; degraded: number; failing: number; unknown: number };
}

const STATUS = `agent { id name clusterName status labels } connection since lastHeartbeat heartbeatAgeSeconds
  k8sReachable k8sApiLatencyMs pendingObjects failing overdueObjects lastEvent { status message createdAt }
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
  private readonly stopReconnect: () => void;
  /** Agents the stream changed since the current load began: newer than its pages. */
  private streamed = new Set<string>();

  constructor(
    private readonly client: Client,
    onReconnect: (fn: () => void) => () => void,
  ) {
    const stream = client.subscription(CHANGES, {}).subscribe((result) => {
      const change = result.data?.fleetChanges as { status: FleetRow } | undefined;
      if (!change) return;
      this.rows.set(change.status.agent.id, change.status);
      this.streamed.add(change.status.agent.id);
      this.changed();
    });
    this.stopStream = () => stream.unsubscribe();
    // The changes sent while the websocket was away are lost: load the whole fleet again.
    this.stopReconnect = onReconnect(() => void this.load());
    void this.load();
  }

  private async load(): Promise<void> {
    const streamed = new Set<string>();
    this.streamed = streamed;
    const seen = new Set<string>();
    let after: string | null = null;
    do {
      const result = await this.client.query(PAGE, { after }, { requestPolicy: "network-only" }).toPromise();
      if (result.error || !result.data) {
        this.snapshot = { ...this.snapshot, loading: false, error: result.error?.message ?? "no data" };
        return this.emit();
      }
      const page = result.data.fleet as { edges: { node: FleetRow }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
      for (const { node } of page.edges) {
        seen.add(node.agent.id);
        // A row the stream replaced since this load began is newer than the page.
        if (!streamed.has(node.agent.id)) this.rows.set(node.agent.id, node);
      }
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      this.changed();
    } while (after);
    // Agents deleted meanwhile are in no page.
    for (const id of [...this.rows.keys()]) if (!seen.has(id) && !streamed.has(id)) this.rows.delete(id);
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
    this.stopReconnect();
    window.clearTimeout(this.timer);
  }
}

export function useFleet(store: FleetStore) {
  return useSyncExternalStore(store.subscribe, store.get);
}

/** Problems first: what an operator must look at. Failing and overdue are the broker's verdicts. */
export const isFailing = (r: FleetRow) => r.failing;
export const isOffline = (r: FleetRow) => r.agent.status === "ACTIVE" && r.connection === "OFFLINE";
export const isInactive = (r: FleetRow) => r.agent.status === "INACTIVE";
export const isPendingTooLong = (r: FleetRow) => r.overdueObjects > 0;
