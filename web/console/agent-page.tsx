import { Anchor, Badge, Card, Group, Loader, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery, useSubscription } from "urql";
import { useOnReconnect } from "./live.js";
import { age, ConnectionBadge, HealthText, ResultBadge } from "./badges.js";
import { href } from "./route.js";

const AGENT = `query($id: ID!) { agent(id: $id) {
  id name clusterName status labels annotations { key value }
  fleetStatus { connection since heartbeatAgeSeconds k8sReachable k8sApiLatencyMs pendingObjects
    health { healthy degraded failing unknown } }
  events(first: 50) { edges { node { id status message createdAt deploymentObject { sequenceId stack { id name } } } } }
} }`;
const EVENTS = `subscription($a: ID) { agentEventsAdded(agentId: $a) { id } }`;
const FLEET = `subscription { fleetChanges { agentId } }`;

interface EventNode {
  id: string;
  status: "SUCCESS" | "FAILURE";
  message: string | null;
  createdAt: string;
  deploymentObject: { sequenceId: string; stack: { id: string; name: string } };
}

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <Card withBorder padding="xs" role="group" aria-label={label}>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm">{children}</Text>
    </Card>
  );
}

export function AgentPage({ id }: { id: string }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: AGENT, variables: { id } });
  const reload = () => refetch({ requestPolicy: "network-only" });
  useOnReconnect(reload);
  useSubscription({ query: EVENTS, variables: { a: id } }, (_p, e) => {
    reload();
    return e;
  });
  useSubscription({ query: FLEET }, (_p, e: { fleetChanges: { agentId: string } }) => {
    if (e.fleetChanges.agentId === id) reload();
    return e;
  });
  const agent = data?.agent;
  if (error)
    return (
      <Text c="red" role="alert">
        {error.message}
      </Text>
    );
  if (!agent) return fetching ? <Loader aria-label="loading the agent" /> : <Text>No such agent.</Text>;
  const s = agent.fleetStatus;
  const events = agent.events.edges.map((e: { node: EventNode }) => e.node) as EventNode[];
  return (
    <Stack>
      <Title order={2}>Agent {agent.name}</Title>
      <Group gap={4}>
        <Badge>{agent.status}</Badge>
        <ConnectionBadge connection={s.connection} />
        {agent.labels.map((l: string) => (
          <Badge key={l} variant="outline">
            {l}
          </Badge>
        ))}
      </Group>
      <SimpleGrid cols={{ base: 2, md: 6 }}>
        <Fact label="Cluster">{agent.clusterName}</Fact>
        <Fact label="Heartbeat">{age(s.heartbeatAgeSeconds)}</Fact>
        <Fact label="Kubernetes">
          {s.k8sReachable === null ? "unknown" : s.k8sReachable ? `reachable, ${s.k8sApiLatencyMs ?? "?"} ms` : "unreachable"}
        </Fact>
        <Fact label="Pending objects">{s.pendingObjects}</Fact>
        <Fact label="Health">
          <HealthText health={s.health} />
        </Fact>
        <Fact label="Since">{s.since ? new Date(s.since).toLocaleString() : "—"}</Fact>
      </SimpleGrid>
      <Title order={3} size="h4">
        Events
      </Title>
      <Table aria-label="Events" striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>When</Table.Th>
            <Table.Th>Stack</Table.Th>
            <Table.Th>Object</Table.Th>
            <Table.Th>Result</Table.Th>
            <Table.Th>Message</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {events.map((e) => (
            <Table.Tr key={e.id}>
              <Table.Td>{new Date(e.createdAt).toLocaleString()}</Table.Td>
              <Table.Td>
                <Anchor href={href.stack(e.deploymentObject.stack.id)}>{e.deploymentObject.stack.name}</Anchor>
              </Table.Td>
              <Table.Td>#{e.deploymentObject.sequenceId}</Table.Td>
              <Table.Td>
                <ResultBadge status={e.status} />
              </Table.Td>
              <Table.Td>{e.message ?? ""}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {events.length === 0 && <Text size="sm">No events reported yet.</Text>}
    </Stack>
  );
}
