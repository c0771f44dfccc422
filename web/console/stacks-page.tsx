import { Anchor, Badge, Group, Loader, Stack, Table, Title } from "@mantine/core";
import { ErrorText, Pager, usePaged } from "./paged.js";
import { href } from "./route.js";
import { VirtualTable } from "./virtual-table.js";

const STACKS = `query($after: String) { stacks(first: 100, after: $after) {
  edges { node { id name labels generator { name } latestDeploymentObject { sequenceId submittedAt } } }
  pageInfo { hasNextPage endCursor } } }`;
const COLUMNS = ["Stack", "Generator", "Labels", "Latest object"];

interface StackNode {
  id: string;
  name: string;
  labels: string[];
  generator: { name: string };
  latestDeploymentObject: { sequenceId: string; submittedAt: string } | null;
}

/** One page of 100 stacks (virtualised); "Next" pages on by cursor. */
export function StacksPage() {
  const paged = usePaged<StackNode>(STACKS, "stacks", {});
  return (
    <Stack>
      <Title order={2}>Stacks {paged.fetching && <Loader size="xs" aria-label="loading stacks" />}</Title>
      <ErrorText error={paged.error} />
      <VirtualTable
        label="Stacks"
        striped
        columns={COLUMNS}
        rows={paged.nodes}
        rowKey={(s) => s.id}
        rowData={(s) => ({ "data-stack-id": s.id })}
        cells={(node) => (
          <>
            <Table.Td>
              <Anchor href={href.stack(node.id)}>{node.name}</Anchor>
            </Table.Td>
            <Table.Td>{node.generator.name}</Table.Td>
            <Table.Td>
              <Group gap={4}>
                {node.labels.map((l) => (
                  <Badge key={l} variant="outline" size="sm">
                    {l}
                  </Badge>
                ))}
              </Group>
            </Table.Td>
            <Table.Td>
              {node.latestDeploymentObject
                ? `#${node.latestDeploymentObject.sequenceId}, ${new Date(node.latestDeploymentObject.submittedAt).toLocaleString()}`
                : "none"}
            </Table.Td>
          </>
        )}
      />
      <Pager paged={paged} what="stacks" />
    </Stack>
  );
}
