import { Anchor, Badge, Button, Group, Loader, Stack, Table, Text, Title } from "@mantine/core";
import { useState } from "react";
import { useQuery } from "urql";
import { href } from "./route.js";

const STACKS = `query($after: String) { stacks(first: 100, after: $after) {
  edges { node { id name labels generator { name } latestDeploymentObject { sequenceId submittedAt } } }
  pageInfo { hasNextPage endCursor } } }`;

interface StackNode {
  id: string;
  name: string;
  labels: string[];
  generator: { name: string };
  latestDeploymentObject: { sequenceId: string; submittedAt: string } | null;
}

/** One page of 100 stacks; "Next" pages on by cursor. */
export function StacksPage() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors.at(-1) ?? null;
  const [{ data, fetching, error }] = useQuery({ query: STACKS, variables: { after } });
  const page = data?.stacks as
    | { edges: { node: StackNode }[]; pageInfo: { hasNextPage: boolean; endCursor: string } }
    | undefined;
  return (
    <Stack>
      <Title order={2}>Stacks {fetching && <Loader size="xs" aria-label="loading stacks" />}</Title>
      {error && (
        <Text c="red" role="alert">
          {error.message}
        </Text>
      )}
      <Table striped highlightOnHover aria-label="Stacks">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Stack</Table.Th>
            <Table.Th>Generator</Table.Th>
            <Table.Th>Labels</Table.Th>
            <Table.Th>Latest object</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {page?.edges.map(({ node }) => (
            <Table.Tr key={node.id}>
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
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Group>
        <Button variant="default" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous
        </Button>
        <Button
          variant="default"
          disabled={!page?.pageInfo.hasNextPage}
          onClick={() => page && setCursors([...cursors, page.pageInfo.endCursor])}
        >
          Next
        </Button>
      </Group>
    </Stack>
  );
}
