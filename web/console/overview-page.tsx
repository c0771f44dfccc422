import { Anchor, Card, List, Loader, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { ConnectionBadge } from "./badges.js";
import { type FleetRow, type FleetStore, isFailing, isInactive, isOffline, isPendingTooLong, useFleet } from "./fleet-store.js";
import { href } from "./route.js";

const SHOWN = 20;

function Count({ label, value, tone }: { label: string; value: number; tone?: "bad" }) {
  return (
    <Card withBorder padding="sm" role="group" aria-label={label}>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="xl" fw={700} c={tone === "bad" && value > 0 ? "red" : undefined}>
        {value}
      </Text>
    </Card>
  );
}

function Problems({ title, rows, explain }: { title: string; rows: FleetRow[]; explain: string }) {
  if (rows.length === 0) return null;
  return (
    <section aria-label={title}>
      <Title order={3} size="h5">
        {title} ({rows.length})
      </Title>
      <Text size="xs" c="dimmed">
        {explain}
      </Text>
      <List size="sm" mt={4}>
        {rows.slice(0, SHOWN).map((r) => (
          <List.Item key={r.agent.id}>
            <Anchor href={href.agent(r.agent.id)}>{r.agent.name}</Anchor>{" "}
            <Text span c="dimmed">
              ({r.agent.clusterName})
            </Text>{" "}
            <ConnectionBadge connection={r.connection} />
          </List.Item>
        ))}
        {rows.length > SHOWN && <List.Item>… and {rows.length - SHOWN} more (see Fleet)</List.Item>}
      </List>
    </section>
  );
}

export function OverviewPage({ fleet }: { fleet: FleetStore }) {
  const { rows, loading, error } = useFleet(fleet);
  const failing = rows.filter(isFailing);
  const offline = rows.filter(isOffline);
  const inactive = rows.filter(isInactive);
  const pending = rows.filter(isPendingTooLong);
  const count = (c: FleetRow["connection"]) => rows.filter((r) => r.connection === c).length;
  const none = failing.length + offline.length + inactive.length + pending.length === 0;
  return (
    <Stack>
      <Title order={2}>Overview {loading && <Loader size="xs" aria-label="loading the fleet" />}</Title>
      {error && (
        <Text c="red" role="alert">
          {error}
        </Text>
      )}
      <SimpleGrid cols={{ base: 2, sm: 4, lg: 7 }}>
        <Count label="Agents" value={rows.length} />
        <Count label="Websocket" value={count("WEBSOCKET")} />
        <Count label="REST" value={count("REST")} />
        <Count label="Offline" value={offline.length} tone="bad" />
        <Count label="Failing" value={failing.length} tone="bad" />
        <Count label="Inactive" value={inactive.length} tone="bad" />
        <Count label="Pending too long" value={pending.length} tone="bad" />
      </SimpleGrid>
      <Title order={2} size="h4">
        Problems
      </Title>
      {none && !loading && <Text>No problems: every active agent is connected and up to date.</Text>}
      <Problems
        title="Failing"
        rows={failing}
        explain="For some stack, its latest report on the stack's latest object is FAILURE, or that object's health is failing."
      />
      <Problems title="Offline" rows={offline} explain="Active, but no websocket and no heartbeat for 90 s." />
      <Problems title="Inactive" rows={inactive} explain="Created but not activated: they receive nothing." />
      <Problems
        title="Pending too long"
        rows={pending}
        explain="A stack's latest object is older than the broker's threshold (BROKKR__FLEET__OVERDUE_SECONDS, 5 minutes by default) and the agent has not reported it."
      />
    </Stack>
  );
}
