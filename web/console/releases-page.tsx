import { Anchor, Badge, Card, Group, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery } from "urql";
import { ErrorText, when } from "./paged.js";
import { href } from "./route.js";

const PIPELINE = `{
  environments(first: 100) { edges { node {
    id name displayName orderIndex requiredApprovals rolloutStrategy
    activeFreezeWindow { reason }
    currentRelease { id name }
    promotions(first: 1) { edges { node { id status release { name } approvals { action } } } }
  } } }
  releases(first: 50) { edges { node { id name status createdAt deployedTo { name } components { image } } } }
}`;

interface EnvironmentNode {
  id: string;
  name: string;
  displayName: string;
  orderIndex: number;
  requiredApprovals: number;
  rolloutStrategy: string;
  activeFreezeWindow: { reason: string | null } | null;
  currentRelease: { id: string; name: string } | null;
  promotions: { edges: { node: LatestPromotion }[] };
}
interface LatestPromotion {
  id: string;
  status: string;
  release: { name: string };
  approvals: { action: string }[];
}
interface ReleaseNode {
  id: string;
  name: string;
  status: string;
  createdAt: string;
  deployedTo: { name: string }[];
  components: { image: string }[];
}

const IN_FLIGHT = ["PENDING_APPROVAL", "APPROVED", "DEPLOYING"];
const STATUS_COLOR: Record<string, string> = {
  DEPLOYED: "green",
  DEPLOYING: "blue",
  APPROVED: "teal",
  PENDING_APPROVAL: "yellow",
  FAILED: "red",
  REJECTED: "red",
  ROLLED_BACK: "gray",
};

export const PromotionBadge = ({ status }: { status: string }) => (
  <Badge color={STATUS_COLOR[status] ?? "gray"} variant="light">
    {status.toLowerCase().replace("_", " ")}
  </Badge>
);

/** What an in-flight promotion waits for, in words. */
function waitingFor(env: EnvironmentNode, p: LatestPromotion): string {
  if (p.status === "PENDING_APPROVAL") {
    const approved = p.approvals.filter((a) => a.action === "APPROVED").length;
    return `waits for ${env.requiredApprovals - approved} more approval(s)`;
  }
  if (p.status === "APPROVED") return env.activeFreezeWindow ? "waits for the freeze window to end" : "starting";
  return "rolling out";
}

function EnvironmentCard({ env }: { env: EnvironmentNode }) {
  const latest = env.promotions.edges[0]?.node;
  return (
    <Card withBorder component="section" aria-label={`Environment ${env.name}`} data-environment={env.name}>
      <Group justify="space-between">
        <Title order={3} size="h5">
          {env.orderIndex}. {env.displayName}
        </Title>
        {env.activeFreezeWindow && (
          <Badge color="orange">frozen{env.activeFreezeWindow.reason ? `: ${env.activeFreezeWindow.reason}` : ""}</Badge>
        )}
      </Group>
      <Text size="sm">
        Current release: <strong data-current-release={env.name}>{env.currentRelease?.name ?? "none"}</strong>
      </Text>
      <Text size="xs" c="dimmed">
        {env.requiredApprovals} approval(s), {env.rolloutStrategy.toLowerCase().replace(/_/g, " ")}
      </Text>
      {latest && (
        <Group gap="xs" mt="xs">
          <Anchor href={href.promotion(latest.id)}>{latest.release.name}</Anchor>
          <PromotionBadge status={latest.status} />
          {IN_FLIGHT.includes(latest.status) && <Text size="xs">{waitingFor(env, latest)}</Text>}
        </Group>
      )}
    </Card>
  );
}

/** Environments as a pipeline (which release is where, what waits for whom), then the releases. */
export function ReleasesPage() {
  const [{ data, error }] = useQuery({ query: PIPELINE, requestPolicy: "cache-and-network" });
  const environments: EnvironmentNode[] = data?.environments.edges.map((e: { node: EnvironmentNode }) => e.node) ?? [];
  const releases: ReleaseNode[] = data?.releases.edges.map((e: { node: ReleaseNode }) => e.node) ?? [];
  return (
    <Stack>
      <Title order={2}>Releases</Title>
      <ErrorText error={error} />
      <section aria-label="Pipeline">
        <SimpleGrid cols={{ base: 1, sm: Math.min(Math.max(environments.length, 1), 4) }}>
          {environments.map((env) => (
            <EnvironmentCard key={env.id} env={env} />
          ))}
        </SimpleGrid>
        {data && environments.length === 0 && <Text>No environments yet.</Text>}
      </section>
      <Table striped aria-label="Releases">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Deployed to</Table.Th>
            <Table.Th>Images</Table.Th>
            <Table.Th>Created</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {releases.map((r) => (
            <Table.Tr key={r.id} data-release={r.name}>
              <Table.Td>{r.name}</Table.Td>
              <Table.Td>
                <Badge variant="light">{r.status.toLowerCase()}</Badge>
              </Table.Td>
              <Table.Td>{r.deployedTo.map((e) => e.name).join(", ") || "—"}</Table.Td>
              <Table.Td>
                <Text size="xs" ff="monospace">
                  {r.components.map((c) => c.image).join(" ")}
                </Text>
              </Table.Td>
              <Table.Td>{when(r.createdAt)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}
