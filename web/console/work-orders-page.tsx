import { Badge, Group, Stack, Table, Text, Title } from "@mantine/core";
import { useState } from "react";
import { useRereadOn } from "./live.js";
import { ErrorText, Pager, ShortId, StatusFilter, usePaged, when } from "./paged.js";
import { VirtualTable } from "./virtual-table.js";

const QUEUE = `query($filter: WorkOrderFilter, $after: String) { workOrders(filter: $filter, first: 100, after: $after) {
  edges { node { id workType status claimedBy claimedAt retryCount maxRetries nextRetryAfter lastError createdAt
    targeting { agentIds labels annotations { key value } } } }
  pageInfo { hasNextPage endCursor } } }`;
const LOG = `query($filter: WorkOrderLogFilter, $after: String) { workOrderLog(filter: $filter, first: 100, after: $after) {
  edges { node { id workType success retriesAttempted resultMessage claimedBy completedAt } }
  pageInfo { hasNextPage endCursor } } }`;

// Any change of the queue or the log, from any broker (the public API's workOrderChanges).
const CHANGES = `subscription { workOrderChanges { kind workOrderId } }`;
const QUEUE_COLUMNS = ["Id", "Type", "Status", "Targets", "Claimed by", "Retries", "Created"];
const LOG_COLUMNS = ["Id", "Type", "Result", "Retries", "Agent", "Completed", "Message"];

interface QueuedOrder {
  id: string;
  workType: string;
  status: string;
  claimedBy: string | null;
  claimedAt: string | null;
  retryCount: number;
  maxRetries: number;
  nextRetryAfter: string | null;
  lastError: string | null;
  createdAt: string;
  targeting: { agentIds: string[]; labels: string[]; annotations: { key: string; value: string }[] };
}
interface LoggedOrder {
  id: string;
  workType: string;
  success: boolean;
  retriesAttempted: number;
  resultMessage: string | null;
  claimedBy: string | null;
  completedAt: string;
}

const targets = (t: QueuedOrder["targeting"]) =>
  [
    ...t.agentIds.map((id) => `agent ${id.slice(0, 8)}`),
    ...t.labels.map((l) => `label ${l}`),
    ...t.annotations.map((a) => `${a.key}=${a.value}`),
  ].join(", ");

function Queue() {
  const [status, setStatus] = useState("");
  const paged = usePaged<QueuedOrder>(QUEUE, "workOrders", { filter: status ? { status } : null });
  useRereadOn(CHANGES, paged.refresh);
  return (
    <section aria-label="Queue">
      <Group align="end" justify="space-between">
        <Title order={3} size="h4">
          Queue
        </Title>
        <StatusFilter value={status} onChange={setStatus} statuses={["PENDING", "CLAIMED", "RETRY_PENDING"]} />
      </Group>
      <ErrorText error={paged.error} />
      <VirtualTable
        label="Queued work orders"
        striped
        columns={QUEUE_COLUMNS}
        rows={paged.nodes}
        rowKey={(o) => o.id}
        rowData={(o) => ({ "data-work-order-id": o.id })}
        cells={(o) => (
          <>
            <Table.Td>
              <ShortId id={o.id} />
            </Table.Td>
            <Table.Td>{o.workType}</Table.Td>
            <Table.Td title={o.lastError ?? undefined}>
              <Badge variant="light">{o.status}</Badge>
            </Table.Td>
            <Table.Td>{targets(o.targeting)}</Table.Td>
            <Table.Td>{o.claimedBy ? `${o.claimedBy.slice(0, 8)} at ${when(o.claimedAt)}` : "—"}</Table.Td>
            <Table.Td>
              {o.retryCount} of {o.maxRetries}
              {o.nextRetryAfter ? `, next ${when(o.nextRetryAfter)}` : ""}
            </Table.Td>
            <Table.Td>{when(o.createdAt)}</Table.Td>
          </>
        )}
      />
      <Pager paged={paged} what="queued work orders" />
    </section>
  );
}

function Log() {
  const paged = usePaged<LoggedOrder>(LOG, "workOrderLog", {});
  useRereadOn(CHANGES, paged.refresh);
  return (
    <section aria-label="Log">
      <Title order={3} size="h4">
        Log (newest first)
      </Title>
      <ErrorText error={paged.error} />
      <VirtualTable
        label="Finished work orders"
        striped
        columns={LOG_COLUMNS}
        rows={paged.nodes}
        rowKey={(o) => o.id}
        rowData={(o) => ({ "data-work-order-id": o.id })}
        cells={(o) => (
          <>
            <Table.Td>
              <ShortId id={o.id} />
            </Table.Td>
            <Table.Td>{o.workType}</Table.Td>
            <Table.Td>
              <Badge color={o.success ? "green" : "red"}>{o.success ? "SUCCESS" : "FAILURE"}</Badge>
            </Table.Td>
            <Table.Td>{o.retriesAttempted}</Table.Td>
            <Table.Td>{o.claimedBy?.slice(0, 8) ?? "—"}</Table.Td>
            <Table.Td>{when(o.completedAt)}</Table.Td>
            <Table.Td>{o.resultMessage ?? ""}</Table.Td>
          </>
        )}
      />
      <Pager paged={paged} what="finished work orders" />
    </section>
  );
}

/** The work-order queue and log, 100 a page, live: re-read on every change workOrderChanges tells of. */
export function WorkOrdersPage() {
  return (
    <Stack>
      <Title order={2}>Work orders</Title>
      <Text size="sm">Queued orders wait for an agent to claim them; finished ones move to the log.</Text>
      <Queue />
      <Log />
    </Stack>
  );
}
