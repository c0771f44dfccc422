import { Badge, Code, Group, Stack, Table, Text, Title } from "@mantine/core";
import { useState } from "react";
import { ErrorText, Pager, ShortId, StatusFilter, useInterval, usePaged, when } from "./paged.js";
import { href } from "./route.js";

const REQUESTS = `query($filter: DiagnosticRequestFilter, $after: String) {
  diagnosticRequests(filter: $filter, first: 100, after: $after) {
    edges { node { id status requestedBy createdAt claimedAt completedAt expiresAt stackId
      agent { id name } deploymentObject { sequenceId } result { collectedAt } } }
    pageInfo { hasNextPage endCursor } } }`;

// Requests are pushed to agents, not to the console; the list is re-read instead.
const REFRESH_MS = 10_000;

interface DiagnosticRow {
  id: string;
  status: string;
  requestedBy: string | null;
  createdAt: string;
  claimedAt: string | null;
  completedAt: string | null;
  expiresAt: string;
  stackId: string;
  agent: { id: string; name: string };
  deploymentObject: { sequenceId: string } | null;
  result: { collectedAt: string } | null;
}

const COLOR: Record<string, string> = { COMPLETED: "green", FAILED: "red", EXPIRED: "gray", CLAIMED: "blue" };

/** Diagnostic requests (admin and read-only users): who asked which agent about which object, and how it went. */
export function DiagnosticsPage() {
  const [status, setStatus] = useState("");
  const paged = usePaged<DiagnosticRow>(REQUESTS, "diagnosticRequests", { filter: status ? { status } : null });
  useInterval(paged.refresh, REFRESH_MS);
  return (
    <Stack>
      <Title order={2}>Diagnostics</Title>
      <Text size="sm">
        An admin asks one agent to collect pod statuses, events and log tails for a deployment object; the result is kept until
        the request expires. Read a result with the <Code>diagnosticRequest(id)</Code> query.
      </Text>
      <Group align="end">
        <StatusFilter value={status} onChange={setStatus} statuses={["PENDING", "CLAIMED", "COMPLETED", "FAILED", "EXPIRED"]} />
      </Group>
      <ErrorText error={paged.error} />
      <Table striped aria-label="Diagnostic requests">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Id</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Agent</Table.Th>
            <Table.Th>Object</Table.Th>
            <Table.Th>Requested</Table.Th>
            <Table.Th>Collected</Table.Th>
            <Table.Th>Expires</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {paged.nodes.map((d) => (
            <Table.Tr key={d.id} data-diagnostic-id={d.id}>
              <Table.Td>
                <ShortId id={d.id} />
              </Table.Td>
              <Table.Td>
                <Badge variant="light" color={COLOR[d.status] ?? "yellow"}>
                  {d.status}
                </Badge>
              </Table.Td>
              <Table.Td>
                <a href={href.agent(d.agent.id)}>{d.agent.name}</a>
              </Table.Td>
              <Table.Td>
                <a href={href.stack(d.stackId)}>
                  {d.deploymentObject ? `#${d.deploymentObject.sequenceId}` : "stack (object no longer reaches the agent)"}
                </a>
              </Table.Td>
              <Table.Td>
                {when(d.createdAt)}
                {d.requestedBy ? ` by ${d.requestedBy}` : ""}
              </Table.Td>
              <Table.Td>{d.result ? when(d.result.collectedAt) : "—"}</Table.Td>
              <Table.Td>{when(d.expiresAt)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Pager paged={paged} what="diagnostic requests" />
    </Stack>
  );
}
