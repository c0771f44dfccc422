import { Button, Code, Group, NativeSelect, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { ErrorText, Pager, usePaged, when } from "./paged.js";
import { VirtualTable } from "./virtual-table.js";

const AUDIT = `query($filter: AuditLogFilter, $after: String) { auditLogs(filter: $filter, first: 100, after: $after) {
  edges { node { id sequence timestamp actorType actorId actorName action resourceType resourceId details ipAddress } }
  pageInfo { hasNextPage endCursor } } }`;

const COLUMNS = ["#", "When", "Actor", "Action", "Resource", "Details"];
const ACTOR_TYPES = ["", "admin", "agent", "generator", "system", "anonymous"];

interface Entry {
  id: string;
  sequence: string;
  timestamp: string;
  actorType: string;
  actorId: string | null;
  actorName: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  details: unknown;
  ipAddress: string | null;
}
interface Filter {
  actorType?: string;
  action?: string;
  resourceType?: string;
}

// Details can hold a whole input: the table shows the start, the cell's title the rest.
const summary = (details: unknown) => {
  if (details == null) return "";
  const text = JSON.stringify(details);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
};

/** Filters apply on submit (Enter or the button), so typing does not query on every key. */
function Filters({ onApply }: { onApply: (f: Filter) => void }) {
  const [actorType, setActorType] = useState("");
  const [action, setAction] = useState("");
  const [resourceType, setResourceType] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const f: Filter = {};
    if (actorType) f.actorType = actorType;
    if (action.trim()) f.action = action.trim();
    if (resourceType.trim()) f.resourceType = resourceType.trim();
    onApply(f);
  };
  return (
    <form onSubmit={submit} aria-label="Audit log filters">
      <Group align="end">
        <NativeSelect
          label="Actor type"
          value={actorType}
          onChange={(e) => setActorType(e.currentTarget.value)}
          data={ACTOR_TYPES.map((t) => ({ value: t, label: t || "any" }))}
        />
        <TextInput
          label="Action"
          description="exact, or a prefix ending in *"
          placeholder="stack.*"
          value={action}
          onChange={(e) => setAction(e.currentTarget.value)}
        />
        <TextInput
          label="Resource type"
          placeholder="stack"
          value={resourceType}
          onChange={(e) => setResourceType(e.currentTarget.value)}
        />
        <Button type="submit" variant="default">
          Apply filters
        </Button>
      </Group>
    </form>
  );
}

/** The audit log, newest first, 100 a page (admin and read-only users). */
export function AuditPage() {
  const [filter, setFilter] = useState<Filter>({});
  const paged = usePaged<Entry>(AUDIT, "auditLogs", { filter });
  return (
    <Stack>
      <Title order={2}>Audit log</Title>
      <Text size="sm">Every mutation and failed sign-in, newest first; rows form a hash chain.</Text>
      <Filters onApply={setFilter} />
      <ErrorText error={paged.error} />
      <VirtualTable
        label="Audit log entries"
        striped
        columns={COLUMNS}
        rows={paged.nodes}
        rowKey={(e) => e.id}
        rowData={(e) => ({ "data-audit-id": e.id })}
        cells={(e) => (
          <>
            <Table.Td>{e.sequence}</Table.Td>
            <Table.Td>{when(e.timestamp)}</Table.Td>
            <Table.Td title={e.ipAddress ?? undefined}>
              {e.actorType}
              {e.actorName && e.actorName !== e.actorType ? ` ${e.actorName}` : e.actorId ? ` ${e.actorId.slice(0, 8)}` : ""}
            </Table.Td>
            <Table.Td>{e.action}</Table.Td>
            <Table.Td>
              {e.resourceType}
              {e.resourceId ? ` ${e.resourceId}` : ""}
            </Table.Td>
            <Table.Td className="audit-details" title={e.details == null ? undefined : JSON.stringify(e.details)}>
              <Code>{summary(e.details)}</Code>
            </Table.Td>
          </>
        )}
      />
      <Pager paged={paged} what="audit log entries" />
    </Stack>
  );
}
