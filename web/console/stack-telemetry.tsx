import { Badge, Stack, Table, Text, Title } from "@mantine/core";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useRef } from "react";
import { ErrorText, when } from "./paged.js";
import { type LogRow, useTelemetry } from "./telemetry-store.js";

const ROW_HEIGHT = 28;
// Fixed layout: the line gets what the time and the pod leave.
const LOG_COLUMNS = [
  { name: "Time", width: 200 },
  { name: "Pod / container", width: 240 },
  { name: "Line", width: undefined },
];

function LogLine({ row, index }: { row: LogRow; index: number }) {
  if (row.__typename === "LogGap")
    return (
      <Table.Tr aria-rowindex={index + 2} h={ROW_HEIGHT} className="log-gap">
        <Table.Td>{when(row.sinceTs)}</Table.Td>
        <Table.Td>—</Table.Td>
        <Table.Td>
          {row.droppedCount} lines dropped ({row.gapReason.toLowerCase().replace("_", " ")})
        </Table.Td>
      </Table.Tr>
    );
  return (
    <Table.Tr aria-rowindex={index + 2} h={ROW_HEIGHT}>
      <Table.Td>{when(row.ts)}</Table.Td>
      <Table.Td>
        {row.pod}/{row.container}
      </Table.Td>
      <Table.Td className="log-line">{row.line}</Table.Td>
    </Table.Tr>
  );
}

/** Log lines in a table holding only the rows in view (as the fleet page), newest at the bottom. */
function Logs({ rows }: { rows: LogRow[] }) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 20,
  });
  const items = virtual.getVirtualItems();
  const top = items[0]?.start ?? 0;
  const bottom = virtual.getTotalSize() - (items.at(-1)?.end ?? 0);
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: the scrolling region must be reachable by keyboard
    <div ref={scroller} className="log-scroll" tabIndex={0}>
      <Table stickyHeader aria-label="Log lines" aria-rowcount={rows.length + 1} layout="fixed" verticalSpacing={2}>
        <Table.Thead>
          <Table.Tr aria-rowindex={1}>
            {LOG_COLUMNS.map((c) => (
              <Table.Th key={c.name} w={c.width}>
                {c.name}
              </Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {top > 0 && (
            <tr>
              <td colSpan={LOG_COLUMNS.length} style={{ height: top, padding: 0 }} />
            </tr>
          )}
          {items.map((item) => {
            const row = rows[item.index];
            return row ? <LogLine key={row.id} row={row} index={item.index} /> : null;
          })}
          {bottom > 0 && (
            <tr>
              <td colSpan={LOG_COLUMNS.length} style={{ height: bottom, padding: 0 }} />
            </tr>
          )}
        </Table.Tbody>
      </Table>
    </div>
  );
}

/** The stack's Kubernetes events and pod log lines of the last hour, then live (stackTelemetry). */
export function StackTelemetry({ stackId }: { stackId: string }) {
  const { logs, events, error, truncated } = useTelemetry(stackId);
  return (
    <Stack>
      <ErrorText error={error} />
      {truncated && <Text size="sm">Showing the oldest records of the last hour that fit; newer ones arrive live.</Text>}
      <section aria-label="Log lines">
        <Title order={3} size="h4">
          Log lines{" "}
          <Text span size="sm" role="status" aria-live="polite">
            ({logs.length})
          </Text>
        </Title>
        <Logs rows={logs} />
      </section>
      <section aria-label="Kubernetes events">
        <Title order={3} size="h4">
          Events ({events.length})
        </Title>
        <Table striped aria-label="Kubernetes events">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Observed</Table.Th>
              <Table.Th>Type</Table.Th>
              <Table.Th>Reason</Table.Th>
              <Table.Th>Object</Table.Th>
              <Table.Th>Message</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {[...events].reverse().map((e) => (
              <Table.Tr key={e.id}>
                <Table.Td>{when(e.observedAt)}</Table.Td>
                <Table.Td>
                  <Badge color={e.eventType === "Warning" ? "orange" : "gray"} variant="light">
                    {e.eventType}
                  </Badge>
                </Table.Td>
                <Table.Td>{e.reason}</Table.Td>
                <Table.Td>
                  {e.involvedObject.kind}/{e.involvedObject.name}
                </Table.Td>
                <Table.Td>{e.message}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </section>
    </Stack>
  );
}
