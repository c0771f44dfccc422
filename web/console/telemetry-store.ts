import { useEffect, useMemo, useState } from "react";
import { useQuery, useSubscription } from "urql";

const LINE = "id ts namespace pod container line";
const EVENT = "id observedAt reason message eventType involvedObject { kind name }";
const GAP = "id sinceTs droppedCount gapReason: reason";
const HISTORY = `query($id: ID!, $since: DateTime) { stack(id: $id) {
  logs(first: 500, since: $since) { edges { node { __typename ${LINE} } } pageInfo { hasNextPage } }
  logGaps(first: 100, since: $since) { edges { node { __typename ${GAP} } } }
  telemetryEvents(first: 200, since: $since) { edges { node { __typename ${EVENT} } } pageInfo { hasNextPage } } } }`;
const RECORD = `... on PodLogLine { ${LINE} } ... on KubeEvent { ${EVENT} } ... on LogGap { ${GAP} }`;
const LIVE = `subscription($id: ID!) { stackTelemetry(stackId: $id) { __typename ${RECORD} } }`;

// What the tab reads back on opening, and how much it keeps as records keep arriving.
const HISTORY_MS = 60 * 60 * 1000;
const MAX_LINES = 5000;
const MAX_EVENTS = 500;

export type LogRow =
  | { __typename: "PodLogLine"; id: string; ts: string; namespace: string; pod: string; container: string; line: string }
  | { __typename: "LogGap"; id: string; sinceTs: string; droppedCount: number; gapReason: string };
export interface EventRow {
  __typename: "KubeEvent";
  id: string;
  observedAt: string;
  reason: string;
  message: string;
  eventType: string;
  involvedObject: { kind: string; name: string };
}
type TelemetryRecord = LogRow | EventRow;

const nodes = (conn: { edges: { node: TelemetryRecord }[] } | undefined) => conn?.edges.map((e) => e.node) ?? [];
const at = (r: TelemetryRecord) => (r.__typename === "PodLogLine" ? r.ts : r.__typename === "LogGap" ? r.sinceTs : r.observedAt);

/** Appends records not seen yet (history and live overlap while both start), oldest first, capped. */
function merge<T extends TelemetryRecord>(rows: T[], more: T[], cap: number): T[] {
  const seen = new Set(rows.map((r) => r.id));
  const added = more.filter((r) => !seen.has(r.id));
  if (!added.length) return rows;
  return [...rows, ...added].sort((a, b) => at(a).localeCompare(at(b))).slice(-cap);
}

/**
 * A stack's telemetry of the last hour, then live: the history query and the stackTelemetry
 * subscription start together and are merged by record id, so nothing reported meanwhile is lost.
 */
export function useTelemetry(stackId: string) {
  const since = useMemo(() => new Date(Date.now() - HISTORY_MS).toISOString(), []);
  const [{ data, fetching, error }] = useQuery({
    query: HISTORY,
    variables: { id: stackId, since },
    requestPolicy: "network-only",
  });
  const [logs, setLogs] = useState<LogRow[]>([]);
  const [events, setEvents] = useState<EventRow[]>([]);
  useEffect(() => {
    const s = data?.stack;
    if (!s) return;
    setLogs((rows) => merge(rows, [...nodes(s.logs), ...nodes(s.logGaps)] as LogRow[], MAX_LINES));
    setEvents((rows) => merge(rows, nodes(s.telemetryEvents) as EventRow[], MAX_EVENTS));
  }, [data]);
  const [live] = useSubscription({ query: LIVE, variables: { id: stackId } }, (_prev, d: { stackTelemetry: TelemetryRecord }) => {
    const r = d.stackTelemetry;
    if (r.__typename === "KubeEvent") setEvents((rows) => merge(rows, [r], MAX_EVENTS));
    else setLogs((rows) => merge(rows, [r], MAX_LINES));
    return d;
  });
  const truncated = !!(data?.stack?.logs.pageInfo.hasNextPage || data?.stack?.telemetryEvents.pageInfo.hasNextPage);
  return { logs, events, fetching, error: error ?? live.error, truncated };
}
