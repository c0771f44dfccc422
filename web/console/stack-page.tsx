import { Anchor, Badge, Group, Loader, NativeSelect, Stack, Table, Tabs, Text, Title } from "@mantine/core";
import { useEffect, useState } from "react";
import { useQuery, useSubscription } from "urql";
import { useOnReconnect } from "./live.js";
import { VirtualTable } from "./virtual-table.js";
import { ResultBadge } from "./badges.js";
import { DiffView } from "./diff-view.js";
import { href } from "./route.js";
import { StackTelemetry } from "./stack-telemetry.js";

const STACK = `query($id: ID!) { stack(id: $id) {
  id name description labels annotations { key value } generator { name }
  reachedAgents(first: 200) { edges { node { reasons receives agent { id name clusterName }
    lastEvent { status message createdAt deploymentObject { sequenceId } } } } }
  deploymentObjects(first: 200) { edges { node { id sequenceId submittedAt yamlChecksum isDeletionMarker } } }
} }`;
const YAML = `query($a: ID!, $b: ID!) { a: deploymentObject(id: $a) { yamlContent } b: deploymentObject(id: $b) { yamlContent } }`;
const EVENTS = `subscription($s: ID) { agentEventsAdded(stackId: $s) { id } }`;

interface ObjectNode {
  id: string;
  sequenceId: string;
  submittedAt: string;
  yamlChecksum: string;
  isDeletionMarker: boolean;
}
interface Reached {
  reasons: string[];
  receives: boolean;
  agent: { id: string; name: string; clusterName: string };
  lastEvent: {
    status: "SUCCESS" | "FAILURE";
    message: string | null;
    createdAt: string;
    deploymentObject: { sequenceId: string };
  } | null;
}

function History({ objects }: { objects: ObjectNode[] }) {
  const newest = [...objects].reverse();
  const [to, setTo] = useState(newest[0]?.id ?? "");
  const [from, setFrom] = useState(newest[1]?.id ?? newest[0]?.id ?? "");
  useEffect(() => {
    setTo(newest[0]?.id ?? "");
    setFrom(newest[1]?.id ?? newest[0]?.id ?? "");
  }, [newest[0]?.id, newest[1]?.id]);
  const [{ data, fetching }] = useQuery({ query: YAML, variables: { a: from, b: to }, pause: !from || !to });
  const options = newest.map((o) => ({
    value: o.id,
    label: `#${o.sequenceId} ${o.isDeletionMarker ? "(deletion marker) " : ""}${new Date(o.submittedAt).toLocaleString()}`,
  }));
  return (
    <section aria-label="History">
      <Title order={3} size="h4">
        History ({objects.length} objects)
      </Title>
      <Group align="end" my="xs">
        <NativeSelect label="Compare version" data={options} value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
        <NativeSelect label="with version" data={options} value={to} onChange={(e) => setTo(e.currentTarget.value)} />
        {fetching && <Loader size="xs" aria-label="loading the versions" />}
      </Group>
      {data?.a && data?.b && (
        <DiffView before={data.a.yamlContent} after={data.b.yamlContent} label="Differences between the two versions" />
      )}
    </section>
  );
}

const REACH_COLUMNS = ["Agent", "Cluster", "Why", "Receives", "Last applied", "Result"];

export function StackPage({ id }: { id: string }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: STACK, variables: { id } });
  useOnReconnect(() => refetch({ requestPolicy: "network-only" }));
  // A new result for this stack re-reads what reaches where (results arrive live).
  useSubscription({ query: EVENTS, variables: { s: id } }, (_prev, event) => {
    refetch({ requestPolicy: "network-only" });
    return event;
  });
  const stack = data?.stack;
  if (error)
    return (
      <Text c="red" role="alert">
        {error.message}
      </Text>
    );
  if (!stack) return fetching ? <Loader aria-label="loading the stack" /> : <Text>No such stack.</Text>;
  const reached = stack.reachedAgents.edges.map((e: { node: Reached }) => e.node) as Reached[];
  const objects = stack.deploymentObjects.edges.map((e: { node: ObjectNode }) => e.node) as ObjectNode[];
  return (
    <Stack>
      <Title order={2}>Stack {stack.name}</Title>
      <Text size="sm">
        Generator {stack.generator.name}
        {stack.description ? ` — ${stack.description}` : ""}
      </Text>
      <Group gap={4}>
        {stack.labels.map((l: string) => (
          <Badge key={l} variant="outline">
            {l}
          </Badge>
        ))}
        {stack.annotations.map((a: { key: string; value: string }) => (
          <Badge key={a.key} variant="dot">
            {a.key}={a.value}
          </Badge>
        ))}
      </Group>
      <Tabs defaultValue="delivery" keepMounted={false}>
        <Tabs.List aria-label="Stack views">
          <Tabs.Tab value="delivery">Delivery</Tabs.Tab>
          <Tabs.Tab value="telemetry">Telemetry</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="delivery" pt="sm">
          <Stack>
            <section aria-label="Reaches">
              <Title order={3} size="h4">
                Reaches {reached.length} agents
              </Title>
              <VirtualTable
                label="Agents this stack reaches"
                striped
                columns={REACH_COLUMNS}
                rows={reached}
                rowKey={(r) => r.agent.id}
                rowData={(r) => ({ "data-agent-id": r.agent.id })}
                cells={(r) => (
                  <>
                    <Table.Td>
                      <Anchor href={href.agent(r.agent.id)}>{r.agent.name}</Anchor>
                    </Table.Td>
                    <Table.Td>{r.agent.clusterName}</Table.Td>
                    <Table.Td>{r.reasons.join(", ")}</Table.Td>
                    <Table.Td>{r.receives ? "yes" : "no (inactive)"}</Table.Td>
                    <Table.Td>{r.lastEvent ? `#${r.lastEvent.deploymentObject.sequenceId}` : "—"}</Table.Td>
                    <Table.Td title={r.lastEvent?.message ?? undefined}>
                      <ResultBadge status={r.lastEvent?.status} />
                    </Table.Td>
                  </>
                )}
              />
            </section>
            <History objects={objects} />
          </Stack>
        </Tabs.Panel>
        <Tabs.Panel value="telemetry" pt="sm">
          <StackTelemetry stackId={stack.id} />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
