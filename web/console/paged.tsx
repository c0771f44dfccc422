import { Button, Code, Group, Loader, NativeSelect, Text } from "@mantine/core";
import { useMemo, useState } from "react";
import { type AnyVariables, useQuery } from "urql";
import { useOnReconnect } from "./live.js";

export interface PageOf<T> {
  edges: { node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/**
 * One page of a Relay connection at `field`, paged on by cursor (a stack of the cursors seen, so
 * "Previous" needs no backwards paging). A change of `variables` (a filter) starts again at page 1.
 */
export function usePaged<T>(query: string, field: string, variables: Record<string, unknown>, pause = false) {
  const key = JSON.stringify(variables);
  const [state, setState] = useState<{ key: string; cursors: (string | null)[] }>({ key, cursors: [null] });
  const cursors = state.key === key ? state.cursors : [null];
  const after = cursors.at(-1) ?? null;
  const [{ data, fetching, error }, refetch] = useQuery({
    query,
    variables: { ...variables, after } as AnyVariables,
    pause,
    // Coming back to a page shows what it had, then what is true now.
    requestPolicy: "cache-and-network",
  });
  const page = data?.[field] as PageOf<T> | undefined;
  const nodes = useMemo(() => page?.edges.map((e) => e.node) ?? [], [page]);
  const refresh = () => refetch({ requestPolicy: "network-only" });
  // What changed while the websocket was away was never told: read the page again.
  useOnReconnect(() => {
    if (!pause) refresh();
  });
  return {
    nodes,
    fetching,
    error,
    pageNumber: cursors.length,
    refresh,
    previous: cursors.length > 1 ? () => setState({ key, cursors: cursors.slice(0, -1) }) : undefined,
    next:
      page?.pageInfo.hasNextPage && page.pageInfo.endCursor
        ? () => setState({ key, cursors: [...cursors, page.pageInfo.endCursor] })
        : undefined,
  };
}

/** Previous/Next buttons for a usePaged list, labelled with what they page. */
export function Pager({ paged, what }: { paged: ReturnType<typeof usePaged>; what: string }) {
  return (
    <Group>
      <Button variant="default" disabled={!paged.previous} onClick={paged.previous} aria-label={`Previous page of ${what}`}>
        Previous
      </Button>
      <Button variant="default" disabled={!paged.next} onClick={paged.next} aria-label={`Next page of ${what}`}>
        Next
      </Button>
      <Text size="sm">Page {paged.pageNumber}</Text>
      {paged.fetching && <Loader size="xs" aria-label={`loading ${what}`} />}
    </Group>
  );
}

export function ErrorText({ error }: { error: { message: string } | undefined }) {
  return error ? (
    <Text c="red" role="alert">
      {error.message}
    </Text>
  ) : null;
}

export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : "—");

/** A status filter over `statuses` (shown in lower case), "" meaning any. */
export function StatusFilter(props: { value: string; onChange: (status: string) => void; statuses: readonly string[] }) {
  return (
    <NativeSelect
      label="Status"
      value={props.value}
      onChange={(e) => props.onChange(e.currentTarget.value)}
      data={[{ value: "", label: "any" }, ...props.statuses.map((s) => ({ value: s, label: s.toLowerCase().replace("_", " ") }))]}
    />
  );
}

/** An id as the tables show it: its first 8 characters (the whole id is in the row's data attribute). */
export const ShortId = ({ id }: { id: string }) => <Code>{id.slice(0, 8)}</Code>;
