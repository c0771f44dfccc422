import { Table } from "@mantine/core";
import { useVirtualizer } from "@tanstack/react-virtual";
import { type ReactNode, useRef } from "react";

interface VirtualTableProps<T> {
  /** The table's accessible name; the scroll region is named after it. */
  label: string;
  columns: readonly string[];
  rows: readonly T[];
  rowKey: (row: T) => string;
  /** The row's cells (Table.Td elements). */
  cells: (row: T) => ReactNode;
  /** Data attributes of a row (tests and links find rows by id). */
  rowData?: (row: T) => Record<string, string>;
  rowHeight?: number;
  striped?: boolean;
}

/**
 * A real table whose body holds only the rows in view, between two spacer rows (TanStack
 * Virtual), with rows measured as they render (wrapped text is taller). aria-rowcount and
 * aria-rowindex tell assistive technology where a row sits in the whole list; the scroll region
 * is focusable, so the keyboard scrolls it (arrows, Page Up/Down, Home, End).
 */
export function VirtualTable<T>({ label, columns, rows, rowKey, cells, rowData, rowHeight = 44, striped }: VirtualTableProps<T>) {
  const scroller = useRef<HTMLElement>(null);
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => rowHeight,
    getItemKey: (index) => (rows[index] ? rowKey(rows[index]) : index),
    overscan: 10,
  });
  const items = virtual.getVirtualItems();
  const top = items[0]?.start ?? 0;
  const bottom = virtual.getTotalSize() - (items.at(-1)?.end ?? 0);
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard (WCAG 2.1.1)
    <section ref={scroller} className="virtual-scroll" aria-label={`${label} (scrollable)`} tabIndex={0}>
      <Table stickyHeader striped={striped} aria-label={label} aria-rowcount={rows.length + 1}>
        <Table.Thead>
          <Table.Tr aria-rowindex={1}>
            {columns.map((c) => (
              <Table.Th key={c}>{c}</Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {top > 0 && (
            <tr>
              <td colSpan={columns.length} style={{ height: top, padding: 0 }} />
            </tr>
          )}
          {items.map((item) => {
            const row = rows[item.index];
            if (!row) return null;
            return (
              <Table.Tr
                key={item.key}
                ref={virtual.measureElement}
                data-index={item.index}
                aria-rowindex={item.index + 2}
                {...rowData?.(row)}
              >
                {cells(row)}
              </Table.Tr>
            );
          })}
          {bottom > 0 && (
            <tr>
              <td colSpan={columns.length} style={{ height: bottom, padding: 0 }} />
            </tr>
          )}
        </Table.Tbody>
      </Table>
    </section>
  );
}
