import { insertCappedTag } from "../db/capped-tags.js";
import type { Db } from "../db/client.js";
import { carriesAllTags } from "../db/tag-filter.js";
import { firstLinksPerParent } from "../db/first-per-parent.js";
import type { Agent, Prisma } from "../generated/prisma/client.js";
import { decodeNameIdCursor, type Page } from "../graphql/pagination.js";

export type AgentRow = Agent;

export interface AgentListFilter {
  labels?: string[];
  annotations?: { key: string; value: string }[];
  status?: "ACTIVE" | "INACTIVE";
  /** Only agents registered with this generator. */
  registeredWith?: string;
  onlyId?: string;
  includeDeleted?: boolean;
}

export function insertAgent(db: Db, data: { name: string; clusterName: string; pakHash: string }) {
  return db.agent.create({ data });
}

export function findAgent(db: Db, id: string, includeDeleted = false) {
  return db.agent.findFirst({ where: { id, ...(includeDeleted ? {} : { deletedAt: null }) } });
}

export function findAgentsByIds(db: Db, ids: readonly string[]) {
  return db.agent.findMany({ where: { id: { in: [...ids] } } });
}

/** One statement whatever the filter: see listStacks for the shape of the label matching. */
export async function listAgents(db: Db, filter: AgentListFilter, page: Page): Promise<AgentRow[]> {
  const [name, id] = page.after ? decodeNameIdCursor(page.after) : [null, null];
  const rows = await db.$queryRaw<RawAgent[]>`
    SELECT g.id, g.name, g.cluster_name, g.status, g.pak_hash, g.last_heartbeat, g.k8s_reachable, g.k8s_api_latency_ms,
           g.created_at, g.updated_at, g.deleted_at
      FROM agents g
     WHERE (${filter.includeDeleted ?? false} OR g.deleted_at IS NULL)
       AND (${filter.status ?? null}::text IS NULL OR g.status = ${filter.status ?? null}::text)
       AND (${filter.onlyId ?? null}::uuid IS NULL OR g.id = ${filter.onlyId ?? null}::uuid)
       AND (${filter.registeredWith ?? null}::uuid IS NULL OR EXISTS (SELECT 1 FROM agent_generator_registrations r
             WHERE r.agent_id = g.id AND r.generator_id = ${filter.registeredWith ?? null}::uuid))
       AND ${carriesAllTags("agent", "g.id", filter)}
       AND (${name}::text IS NULL OR (g.name, g.id) > (${name}::text, ${id}::uuid))
     ORDER BY g.name, g.id
     LIMIT ${page.first + 1}`;
  return rows.map(toAgentRow);
}

interface RawAgent {
  id: string;
  name: string;
  cluster_name: string;
  status: string;
  pak_hash: string | null;
  last_heartbeat: Date | string | null;
  k8s_reachable: boolean | null;
  k8s_api_latency_ms: number | null;
  created_at: Date | string;
  updated_at: Date | string;
  deleted_at: Date | string | null;
}

const date = (v: Date | string) => (v instanceof Date ? v : new Date(v));
const maybeDate = (v: Date | string | null) => (v === null ? null : date(v));

function toAgentRow(r: RawAgent): AgentRow {
  return {
    id: r.id,
    name: r.name,
    clusterName: r.cluster_name,
    status: r.status,
    pakHash: r.pak_hash,
    lastHeartbeat: maybeDate(r.last_heartbeat),
    k8sReachable: r.k8s_reachable,
    k8sApiLatencyMs: r.k8s_api_latency_ms,
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
    deletedAt: maybeDate(r.deleted_at),
  };
}

export function updateAgent(db: Db, id: string, data: Prisma.AgentUpdateInput) {
  return db.agent.update({ where: { id }, data });
}

export function softDeleteAgent(db: Db, id: string) {
  return db.agent.updateMany({ where: { id, deletedAt: null }, data: { deletedAt: new Date() } });
}

export function hardDeleteAgent(db: Db, id: string) {
  return db.agent.deleteMany({ where: { id } });
}

/** False when the agent already carries the most labels it may (see insertCappedTag). */
export function addAgentLabel(db: Db, agentId: string, label: string): Promise<boolean> {
  return insertCappedTag(db, "agent_labels", agentId, label);
}

export function removeAgentLabel(db: Db, agentId: string, label: string) {
  return db.agentLabel.deleteMany({ where: { agentId, label } });
}

/** False when the agent already carries the most annotations it may (see insertCappedTag). */
export function setAgentAnnotation(db: Db, agentId: string, key: string, value: string): Promise<boolean> {
  return insertCappedTag(db, "agent_annotations", agentId, key, value);
}

export function removeAgentAnnotation(db: Db, agentId: string, key: string) {
  return db.agentAnnotation.deleteMany({ where: { agentId, key } });
}

export function labelsOfAgents(db: Db, agentIds: readonly string[]) {
  return db.agentLabel.findMany({ where: { agentId: { in: [...agentIds] } }, orderBy: { label: "asc" } });
}

export function annotationsOfAgents(db: Db, agentIds: readonly string[]) {
  return db.agentAnnotation.findMany({ where: { agentId: { in: [...agentIds] } }, orderBy: { key: "asc" } });
}

/** Explicit targets of each agent, with their stacks. */
/** The first MAX_LIST_ARGUMENT live targets of each agent (oldest first), with their stacks. */
export async function targetsOfAgents(db: Db, agentIds: readonly string[]) {
  const ids = await firstLinksPerParent(db, "agent_targets_by_agent", agentIds);
  return db.agentTarget.findMany({ where: { id: { in: ids } }, include: { stack: true }, orderBy: { createdAt: "asc" } });
}

/** The first MAX_LIST_ARGUMENT registrations of each agent with live generators. */
export async function registrationsOfAgents(db: Db, agentIds: readonly string[]) {
  const ids = await firstLinksPerParent(db, "registrations_by_agent", agentIds);
  return db.agentGeneratorRegistration.findMany({
    where: { id: { in: ids } },
    include: { generator: true },
    orderBy: { createdAt: "asc" },
  });
}

export function isRegistered(db: Db, agentId: string, generatorId: string) {
  return db.agentGeneratorRegistration.findUnique({ where: { agentId_generatorId: { agentId, generatorId } } });
}

export function register(db: Db, agentId: string, generatorId: string) {
  return db.agentGeneratorRegistration.createMany({ data: [{ agentId, generatorId }], skipDuplicates: true });
}

export function deregister(db: Db, agentId: string, generatorId: string) {
  return db.agentGeneratorRegistration.deleteMany({ where: { agentId, generatorId } });
}

/**
 * `byGenerator`: the stack's generator targets on the strength of the agent's registration, so
 * the target reaches the agent only while it stays registered. An admin's target needs no
 * registration, and takes over a generator's target.
 */
export function addTarget(db: Db, agentId: string, stackId: string, byGenerator = false) {
  if (byGenerator)
    return db.agentTarget.createMany({ data: [{ agentId, stackId, requiresRegistration: true }], skipDuplicates: true });
  return db.agentTarget.upsert({
    where: { agentId_stackId: { agentId, stackId } },
    create: { agentId, stackId },
    update: { requiresRegistration: false },
  });
}

export function removeTarget(db: Db, agentId: string, stackId: string) {
  return db.agentTarget.deleteMany({ where: { agentId, stackId } });
}

/** A live agent by its (name, cluster), the pair Brokkr's agent looks itself up by. */
export function findAgentByName(db: Db, name: string, clusterName: string) {
  return db.agent.findFirst({ where: { name, clusterName, deletedAt: null } });
}

/** Inserts a label, failing on a duplicate (REST answers 409 as Brokkr does). */
export function insertAgentLabel(db: Db, agentId: string, label: string) {
  return db.agentLabel.create({ data: { agentId, label } });
}

export function insertAgentAnnotation(db: Db, agentId: string, key: string, value: string) {
  return db.agentAnnotation.create({ data: { agentId, key, value } });
}

export function insertRegistration(db: Db, agentId: string, generatorId: string) {
  return db.agentGeneratorRegistration.create({ data: { agentId, generatorId } });
}

export function registrationsOfGenerator(db: Db, generatorId: string) {
  return db.agentGeneratorRegistration.findMany({
    where: { generatorId, agent: { deletedAt: null } },
    orderBy: { createdAt: "asc" },
  });
}

export function findTarget(db: Db, agentId: string, stackId: string) {
  return db.agentTarget.findUnique({ where: { agentId_stackId: { agentId, stackId } } });
}
