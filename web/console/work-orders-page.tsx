import { Badge, Group, Stack, Table, Text, Title } from "@mantine/core";
import { useState } from "react";
import { ErrorText, Pager, ShortId, StatusFilter, useInterval, usePaged, when } from "./paged.js";

const QUEUE = `query($filter: WorkOrderFilter, $after: String) { workOrders(filter: $filter, first: 100, after: $after) {
  edges { node { id workType status claimedBy claimedAt retryCount maxRetries nextRetryAfter lastError createdAt
    targeting { agentIds labels annotations { key value } } } }
  pageInfo { hasNextPage endCursor } } }`;
const LOG = `query($filter: WorkOrderLogFilter, $after: String) { workOrderLog(filter: $filter, first: 100, after: $after) {
  edges { node { id workType success retriesAttempted resultMessage claimedBy completedAt } }
  pageInfo { hasNextPage endCursor } } }`;

// agentWorkOrders is per agent (and admin-only per agent), so the lists are re-read instead.
const REFRESH_MS = 10_000;

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
  useInterval(paged.refresh, REFRESH_MS);
  return (
    <section aria-label="Queue">
      <Group align="end" justify="space-between">
        <Title order={3} size="h4">
          Queue
        </Title>
        <StatusFilter value={status} onChange={setStatus} statuses={["PENDING", "CLAIMED", "RETRY_PENDING"]} />
      </Group>
      <ErrorText error={paged.error} />
      <Table striped aria-label="Queued work orders">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Id</Table.Th>
            <Table.Th>Type</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Targets</Table.Th>
            <Table.Th>Claimed by</Table.Th>
            <Table.Th>Retries</Table.Th>
            <Table.Th>Created</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {paged.nodes.map((o) => (
            <Table.Tr key={o.id} data-work-order-id={o.id}>
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
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Pager paged={paged} what="queued work orders" />
    </section>
  );
}

function Log() {
  const paged = usePaged<LoggedOrder>(LOG, "workOrderLog", {});
  useInterval(paged.refresh, REFRESH_MS);
  return (
    <section aria-label="Log">
      <Title order={3} size="h4">
        Log (newest first)
      </Title>
      <ErrorText error={paged.error} />
      <Table striped aria-label="Finished work orders">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Id</Table.Th>
            <Table.Th>Type</Table.Th>
            <Table.Th>Result</Table.Th>
            <Table.Th>Retries</Table.Th>
            <Table.Th>Agent</Table.Th>
            <Table.Th>Completed</Table.Th>
            <Table.Th>Message</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {paged.nodes.map((o) => (
            <Table.Tr key={o.id} data-work-order-id={o.id}>
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
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Pager paged={paged} what="finished work orders" />
    </section>
  );
}

/** The work-order queue and log, 100 a page, re-read every 10 s and on every visit. */
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
