import { Badge, Code, Group, Stack, Table, Text, Title } from "@mantine/core";
import { useState } from "react";
import { useRereadOn } from "./live.js";
import { ErrorText, Pager, ShortId, StatusFilter, usePaged, when } from "./paged.js";
import { href } from "./route.js";
import { VirtualTable } from "./virtual-table.js";

const REQUESTS = `query($filter: DiagnosticRequestFilter, $after: String) {
  diagnosticRequests(filter: $filter, first: 100, after: $after) {
    edges { node { id status requestedBy createdAt claimedAt completedAt expiresAt stackId
      agent { id name } deploymentObject { sequenceId } result { collectedAt } } }
    pageInfo { hasNextPage endCursor } } }`;

// Any request's change, from any broker (the public API's diagnosticRequestChanges).
const CHANGES = `subscription { diagnosticRequestChanges { kind diagnosticRequestId } }`;
const COLUMNS = ["Id", "Status", "Agent", "Object", "Requested", "Collected", "Expires"];

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

/** Diagnostic requests (admin and read-only users): who asked which agent about which object, and how it went; live. */
export function DiagnosticsPage() {
  const [status, setStatus] = useState("");
  const paged = usePaged<DiagnosticRow>(REQUESTS, "diagnosticRequests", { filter: status ? { status } : null });
  useRereadOn(CHANGES, paged.refresh);
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
      <VirtualTable
        label="Diagnostic requests"
        striped
        columns={COLUMNS}
        rows={paged.nodes}
        rowKey={(d) => d.id}
        rowData={(d) => ({ "data-diagnostic-id": d.id })}
        cells={(d) => (
          <>
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
          </>
        )}
      />
      <Pager paged={paged} what="diagnostic requests" />
    </Stack>
  );
}
