import { Anchor, Badge, Card, Group, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery } from "urql";
import { useEffect } from "react";
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
  versionStickers(first: 50) { id agent { id name } environment { name } release { name } contentHash writtenAt
    driftDetected driftCheckedAt healedAt driftDetails { reason kind namespace name path manager } }
}`;
// Stickers have no subscription yet: the page re-reads them (and the pipeline) at this interval.
const REFRESH_MS = 15_000;

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
interface StickerNode {
  id: string;
  agent: { id: string; name: string };
  environment: { name: string };
  release: { name: string };
  contentHash: string;
  writtenAt: string;
  driftDetected: boolean;
  driftCheckedAt: string | null;
  healedAt: string | null;
  driftDetails: {
    reason: string;
    kind: string;
    namespace: string | null;
    name: string;
    path: string | null;
    manager: string | null;
  }[];
}

const driftText = (s: StickerNode) =>
  s.driftDetails
    .map(
      (d) =>
        `${d.reason.toLowerCase()} ${d.kind} ${d.namespace ? `${d.namespace}/` : ""}${d.name}${d.path ? ` ${d.path}` : ""}${d.manager ? ` by ${d.manager}` : ""}`,
    )
    .join("; ");

/** What each agent's version sticker says it runs, drifted ones first. */
function Stickers({ stickers }: { stickers: StickerNode[] }) {
  const sorted = [...stickers].sort((a, b) => Number(b.driftDetected) - Number(a.driftDetected));
  return (
    <Table striped aria-label="Version stickers">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Agent</Table.Th>
          <Table.Th>Environment</Table.Th>
          <Table.Th>Release</Table.Th>
          <Table.Th>Drift</Table.Th>
          <Table.Th>Checked</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {sorted.map((s) => (
          <Table.Tr key={s.id} data-sticker-agent={s.agent.name} data-drift={String(s.driftDetected)}>
            <Table.Td>
              <Anchor href={href.agent(s.agent.id)}>{s.agent.name}</Anchor>
            </Table.Td>
            <Table.Td>{s.environment.name}</Table.Td>
            <Table.Td>{s.release.name}</Table.Td>
            <Table.Td>
              {s.driftDetected ? <Badge color="red">drifted: {driftText(s)}</Badge> : s.healedAt ? "healed" : "none"}
            </Table.Td>
            <Table.Td>{when(s.driftCheckedAt ?? s.writtenAt)}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
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
  const [{ data, error }, refetch] = useQuery({ query: PIPELINE, requestPolicy: "cache-and-network" });
  // biome-ignore lint/correctness/useExhaustiveDependencies: the latest refetch is read through the closure on purpose
  useEffect(() => {
    const timer = setInterval(() => refetch({ requestPolicy: "network-only" }), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  const environments: EnvironmentNode[] = data?.environments.edges.map((e: { node: EnvironmentNode }) => e.node) ?? [];
  const releases: ReleaseNode[] = data?.releases.edges.map((e: { node: ReleaseNode }) => e.node) ?? [];
  const stickers: StickerNode[] = data?.versionStickers ?? [];
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
      <Title order={3} size="h4">
        Version stickers
      </Title>
      {data && stickers.length === 0 ? (
        <Text size="sm">No agent has written a sticker yet.</Text>
      ) : (
        <Stickers stickers={stickers} />
      )}
    </Stack>
  );
}
