import { Badge, Code, Group, Stack, Table, Text, Title } from "@mantine/core";
import { useMemo, useState } from "react";
import { useSubscription } from "urql";
import { ErrorText, Pager, usePaged, when } from "./paged.js";
import { VirtualTable } from "./virtual-table.js";

const SUBSCRIPTIONS = `query($after: String) { webhookSubscriptions(first: 100, after: $after) {
  edges { node { id name eventTypes enabled targetLabels maxRetries timeoutSeconds hasUrl hasAuthHeader
    filters { agentId stackId } createdAt } }
  pageInfo { hasNextPage endCursor } } }`;
const DELIVERY_FIELDS = "id subscriptionId eventType status attemptCount lastStatusCode lastError nextAttemptAt createdAt";
const DELIVERIES = `query($after: String) { webhookDeliveries(first: 100, after: $after) {
  edges { node { ${DELIVERY_FIELDS} } } pageInfo { hasNextPage endCursor } } }`;
const OUTCOMES = `subscription { webhookDeliveries { ${DELIVERY_FIELDS} } }`;

// Live outcomes kept above the loaded page: enough for a busy minute, bounded for a long visit.
const MAX_LIVE = 200;

interface Subscription {
  id: string;
  name: string;
  eventTypes: string[];
  enabled: boolean;
  targetLabels: string[] | null;
  maxRetries: number;
  timeoutSeconds: number;
  hasUrl: boolean;
  hasAuthHeader: boolean;
  filters: { agentId: string | null; stackId: string | null };
  createdAt: string;
}
interface Delivery {
  id: string;
  subscriptionId: string;
  eventType: string;
  status: "PENDING" | "ACQUIRED" | "SUCCESS" | "FAILED" | "DEAD";
  attemptCount: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
}

const DELIVERY_COLUMNS = ["Event", "Subscription", "Status", "Attempts", "Last answer", "Created"];
const STATUS_COLOR = { PENDING: "gray", ACQUIRED: "blue", SUCCESS: "green", FAILED: "orange", DEAD: "red" } as const;

function Subscriptions({ paged }: { paged: ReturnType<typeof usePaged<Subscription>> }) {
  return (
    <section aria-label="Subscriptions">
      <Title order={3} size="h4">
        Subscriptions
      </Title>
      <ErrorText error={paged.error} />
      <Table striped aria-label="Webhook subscriptions">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Events</Table.Th>
            <Table.Th>Enabled</Table.Th>
            <Table.Th>Filters</Table.Th>
            <Table.Th>Delivered by</Table.Th>
            <Table.Th>Retries, timeout</Table.Th>
            <Table.Th>Created</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {paged.nodes.map((s) => (
            <Table.Tr key={s.id} data-subscription-id={s.id}>
              <Table.Td>{s.name}</Table.Td>
              <Table.Td>
                <Group gap={4}>
                  {s.eventTypes.map((t) => (
                    <Badge key={t} variant="outline" size="sm">
                      {t}
                    </Badge>
                  ))}
                </Group>
              </Table.Td>
              <Table.Td>{s.enabled ? "yes" : "no"}</Table.Td>
              <Table.Td>
                {[s.filters.agentId && `agent ${s.filters.agentId}`, s.filters.stackId && `stack ${s.filters.stackId}`]
                  .filter(Boolean)
                  .join(", ") || "—"}
              </Table.Td>
              <Table.Td>{s.targetLabels ? `agents labelled ${s.targetLabels.join(", ")}` : "broker"}</Table.Td>
              <Table.Td>
                {s.maxRetries}, {s.timeoutSeconds}s
              </Table.Td>
              <Table.Td>{when(s.createdAt)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Pager paged={paged} what="webhook subscriptions" />
    </section>
  );
}

function Deliveries({ names }: { names: Map<string, string> }) {
  const paged = usePaged<Delivery>(DELIVERIES, "webhookDeliveries", {});
  const [live, setLive] = useState<Delivery[]>([]);
  // Each recorded attempt arrives here; it replaces the row of that delivery (newest on top).
  useSubscription({ query: OUTCOMES }, (_prev, data: { webhookDeliveries: Delivery }) => {
    const d = data.webhookDeliveries;
    setLive((rows) => [d, ...rows.filter((r) => r.id !== d.id)].slice(0, MAX_LIVE));
    return data;
  });
  const rows = useMemo(() => {
    const seen = new Set(live.map((d) => d.id));
    return [...(paged.pageNumber === 1 ? live : []), ...paged.nodes.filter((d) => !seen.has(d.id))];
  }, [live, paged.nodes, paged.pageNumber]);
  return (
    <section aria-label="Deliveries">
      <Title order={3} size="h4">
        Recent deliveries (live)
      </Title>
      <ErrorText error={paged.error} />
      <VirtualTable
        label="Webhook deliveries"
        striped
        columns={DELIVERY_COLUMNS}
        rows={rows}
        rowKey={(d) => d.id}
        rowData={(d) => ({ "data-delivery-id": d.id })}
        cells={(d) => (
          <>
            <Table.Td>{d.eventType}</Table.Td>
            <Table.Td>{names.get(d.subscriptionId) ?? <Code>{d.subscriptionId.slice(0, 8)}</Code>}</Table.Td>
            <Table.Td>
              <Badge color={STATUS_COLOR[d.status]}>{d.status}</Badge>
            </Table.Td>
            <Table.Td>{d.attemptCount}</Table.Td>
            <Table.Td>
              {[d.lastStatusCode, d.lastError, d.nextAttemptAt && `retry ${when(d.nextAttemptAt)}`].filter(Boolean).join(" · ") ||
                "—"}
            </Table.Td>
            <Table.Td>{when(d.createdAt)}</Table.Td>
          </>
        )}
      />
      <Pager paged={paged} what="webhook deliveries" />
    </section>
  );
}

/** Webhook subscriptions (URLs and secrets are never shown by the API) and deliveries, live. */
export function WebhooksPage() {
  const subscriptions = usePaged<Subscription>(SUBSCRIPTIONS, "webhookSubscriptions", {});
  const names = useMemo(() => new Map(subscriptions.nodes.map((s) => [s.id, s.name])), [subscriptions.nodes]);
  return (
    <Stack>
      <Title order={2}>Webhooks</Title>
      <Text size="sm">Outcomes of delivery attempts arrive live, on any broker or agent.</Text>
      <Subscriptions paged={subscriptions} />
      <Deliveries names={names} />
    </Stack>
  );
}
