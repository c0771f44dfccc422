import { Badge, Code, Group, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery, useSubscription } from "urql";
import { ErrorText, when } from "./paged.js";
import { PromotionBadge } from "./releases-page.js";

const FIELDS = `id status requestedAt completedAt
  release { name components { image } } targetEnvironment { name requiredApprovals }
  requestedBy { user { name } generator { name } }
  gates { name passed detail evaluatedAt }
  approvals { id action comment createdAt approver { name role } }
  job { id status strategy currentBatch batchCount failureThreshold renderedChecksum
    tasks { id batchIndex status message health agent { id name clusterName } } }
  evidence { id packetType contentHash signerKeyId createdAt }`;
const PROMOTION = `query($id: ID!) { promotion(id: $id) { ${FIELDS} } }`;
const PROGRESS = `subscription($id: ID!) { promotionProgress(promotionId: $id) { ${FIELDS} } }`;

interface Promotion {
  id: string;
  status: string;
  requestedAt: string;
  completedAt: string | null;
  release: { name: string; components: { image: string }[] };
  targetEnvironment: { name: string; requiredApprovals: number };
  requestedBy: { user: { name: string } | null; generator: { name: string } | null };
  gates: { name: string; passed: boolean; detail: string; evaluatedAt: string }[];
  approvals: {
    id: string;
    action: string;
    comment: string | null;
    createdAt: string;
    approver: { name: string; role: string };
  }[];
  job: {
    status: string;
    strategy: string;
    currentBatch: number;
    batchCount: number;
    failureThreshold: number;
    renderedChecksum: string | null;
    tasks: {
      id: string;
      batchIndex: number;
      status: string;
      message: string | null;
      health: string | null;
      agent: { name: string; clusterName: string };
    }[];
  } | null;
  evidence: { id: string; packetType: string; contentHash: string; signerKeyId: string; createdAt: string }[];
}

const requester = (p: Promotion) => p.requestedBy.user?.name ?? p.requestedBy.generator?.name ?? "admin key";

function Gates({ p }: { p: Promotion }) {
  return (
    <Table aria-label="Gates">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Gate</Table.Th>
          <Table.Th>Verdict</Table.Th>
          <Table.Th>Detail</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {p.gates.map((g) => (
          <Table.Tr key={g.name} data-gate={g.name}>
            <Table.Td>{g.name}</Table.Td>
            <Table.Td>
              <Badge color={g.passed ? "green" : "red"}>{g.passed ? "passed" : "failed"}</Badge>
            </Table.Td>
            <Table.Td>{g.detail}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function Batches({ job }: { job: NonNullable<Promotion["job"]> }) {
  return (
    <section aria-label="Rollout">
      <Title order={3} size="h4">
        Rollout: {job.status.toLowerCase()} ({job.strategy.toLowerCase().replace(/_/g, " ")}, batch {job.currentBatch + 1} of{" "}
        {job.batchCount})
      </Title>
      <Table striped aria-label="Tasks">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Batch</Table.Th>
            <Table.Th>Cluster</Table.Th>
            <Table.Th>Agent</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Health</Table.Th>
            <Table.Th>Message</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {job.tasks.map((t) => (
            <Table.Tr key={t.id} data-task-agent={t.agent.name} data-task-status={t.status}>
              <Table.Td>{t.batchIndex + 1}</Table.Td>
              <Table.Td>{t.agent.clusterName}</Table.Td>
              <Table.Td>{t.agent.name}</Table.Td>
              <Table.Td>{t.status.toLowerCase()}</Table.Td>
              <Table.Td>{t.health ?? "—"}</Table.Td>
              <Table.Td>{t.message ?? ""}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </section>
  );
}

/** One promotion, live: gates, approvals, the rollout's batches and the signed evidence. */
export function PromotionPage({ id }: { id: string }) {
  const [{ data, error }] = useQuery({ query: PROMOTION, variables: { id }, requestPolicy: "network-only" });
  const [live] = useSubscription({ query: PROGRESS, variables: { id } });
  const p: Promotion | null = live.data?.promotionProgress ?? data?.promotion ?? null;
  if (!p) return <ErrorText error={error ?? live.error} />;
  return (
    <Stack>
      <Group>
        <Title order={2}>
          {p.release.name} → {p.targetEnvironment.name}
        </Title>
        <span data-promotion-status={p.status}>
          <PromotionBadge status={p.status} />
        </span>
      </Group>
      <Text size="sm">
        Requested by {requester(p)} at {when(p.requestedAt)}; needs {p.targetEnvironment.requiredApprovals} approval(s)
        {p.completedAt ? `; completed ${when(p.completedAt)}` : ""}
      </Text>
      <Gates p={p} />
      <section aria-label="Approvals">
        <Title order={3} size="h4">
          Approvals
        </Title>
        {p.approvals.length === 0 && <Text size="sm">None yet.</Text>}
        {p.approvals.map((a) => (
          <Text key={a.id} size="sm">
            {a.action.toLowerCase()} by {a.approver.name} ({a.approver.role.toLowerCase()}) at {when(a.createdAt)}
            {a.comment ? `: ${a.comment}` : ""}
          </Text>
        ))}
      </section>
      {p.job && <Batches job={p.job} />}
      <section aria-label="Evidence">
        <Title order={3} size="h4">
          Evidence
        </Title>
        {p.evidence.map((e) => (
          <Text key={e.id} size="sm">
            {e.packetType} <Code>sha256:{e.contentHash.slice(0, 16)}…</Code> signed by key <Code>{e.signerKeyId}</Code> at{" "}
            {when(e.createdAt)}
          </Text>
        ))}
      </section>
    </Stack>
  );
}
