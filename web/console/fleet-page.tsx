import { Anchor, Group, Loader, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useMemo, useRef, useState } from "react";
import { age, ConnectionBadge, HealthText, ResultBadge } from "./badges.js";
import { type FleetRow, type FleetStore, useFleet } from "./fleet-store.js";
import { href } from "./route.js";

const ROW_HEIGHT = 44;
const COLUMNS = ["Agent", "Cluster", "Status", "Connection", "Heartbeat", "Pending", "Last result", "Health"];

function Row({ row, index }: { row: FleetRow; index: number }) {
  return (
    <Table.Tr aria-rowindex={index + 2} data-agent-id={row.agent.id} h={ROW_HEIGHT}>
      <Table.Td>
        <Anchor href={href.agent(row.agent.id)}>{row.agent.name}</Anchor>
      </Table.Td>
      <Table.Td>{row.agent.clusterName}</Table.Td>
      <Table.Td>{row.agent.status}</Table.Td>
      <Table.Td>
        <ConnectionBadge connection={row.connection} />
      </Table.Td>
      <Table.Td>{age(row.heartbeatAgeSeconds)}</Table.Td>
      <Table.Td>{row.pendingObjects}</Table.Td>
      <Table.Td>
        <ResultBadge status={row.lastEvent?.status} />
      </Table.Td>
      <Table.Td>
        <HealthText health={row.health} />
      </Table.Td>
    </Table.Tr>
  );
}

/**
 * Every agent, live (fleetChanges). A real table whose body holds only the rows in view, between
 * two spacer rows (TanStack Virtual), so 10,000 agents stay fast; aria-rowcount and
 * aria-rowindex tell assistive technology where a row sits in the whole list.
 */
export function FleetPage({ fleet }: { fleet: FleetStore }) {
  const { rows, loading } = useFleet(fleet);
  const [search, setSearch] = useState("");
  const shown = useMemo(() => {
    const q = search.trim().toLowerCase();
    return q
      ? rows.filter((r) => `${r.agent.name} ${r.agent.clusterName} ${r.agent.labels.join(" ")}`.toLowerCase().includes(q))
      : rows;
  }, [rows, search]);
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: shown.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
  });
  const items = virtual.getVirtualItems();
  const top = items[0]?.start ?? 0;
  const bottom = virtual.getTotalSize() - (items.at(-1)?.end ?? 0);
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Fleet {loading && <Loader size="xs" aria-label="loading the fleet" />}</Title>
        <Text size="sm" role="status" aria-live="polite">
          {shown.length} of {rows.length} agents
        </Text>
      </Group>
      <TextInput
        label="Filter agents"
        placeholder="name, cluster or label"
        value={search}
        onChange={(e) => setSearch(e.currentTarget.value)}
      />
      <div ref={scroller} className="fleet-scroll">
        <Table stickyHeader aria-label="Agents" aria-rowcount={shown.length + 1} layout="fixed">
          <Table.Thead>
            <Table.Tr aria-rowindex={1}>
              {COLUMNS.map((c) => (
                <Table.Th key={c}>{c}</Table.Th>
              ))}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {top > 0 && (
              <tr>
                <td colSpan={COLUMNS.length} style={{ height: top, padding: 0 }} />
              </tr>
            )}
            {items.map((item) => {
              const row = shown[item.index];
              return row ? <Row key={row.agent.id} row={row} index={item.index} /> : null;
            })}
            {bottom > 0 && (
              <tr>
                <td colSpan={COLUMNS.length} style={{ height: bottom, padding: 0 }} />
              </tr>
            )}
          </Table.Tbody>
        </Table>
      </div>
    </Stack>
  );
}
