import type { Db } from "../db/client.js";
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

export function listAgents(db: Db, filter: AgentListFilter, page: Page) {
  const [name, id] = page.after ? decodeNameIdCursor(page.after) : [];
  const and: Prisma.AgentWhereInput[] = [
    ...(filter.labels ?? []).map((label) => ({ labels: { some: { label } } })),
    ...(filter.annotations ?? []).map((a) => ({ annotations: { some: { key: a.key, value: a.value } } })),
  ];
  if (name !== undefined) and.push({ OR: [{ name: { gt: name } }, { name, id: { gt: id } }] });
  if (filter.registeredWith) and.push({ registrations: { some: { generatorId: filter.registeredWith } } });
  return db.agent.findMany({
    where: {
      ...(filter.includeDeleted ? {} : { deletedAt: null }),
      ...(filter.status ? { status: filter.status } : {}),
      ...(filter.onlyId ? { id: filter.onlyId } : {}),
      AND: and,
    },
    orderBy: [{ name: "asc" }, { id: "asc" }],
    take: page.first + 1,
  });
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

export function addAgentLabel(db: Db, agentId: string, label: string) {
  return db.agentLabel.createMany({ data: [{ agentId, label }], skipDuplicates: true });
}

export function removeAgentLabel(db: Db, agentId: string, label: string) {
  return db.agentLabel.deleteMany({ where: { agentId, label } });
}

export function setAgentAnnotation(db: Db, agentId: string, key: string, value: string) {
  return db.agentAnnotation.upsert({
    where: { agentId_key: { agentId, key } },
    create: { agentId, key, value },
    update: { value },
  });
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
export function targetsOfAgents(db: Db, agentIds: readonly string[]) {
  return db.agentTarget.findMany({
    where: { agentId: { in: [...agentIds] } },
    include: { stack: true },
    orderBy: { createdAt: "asc" },
  });
}

export function registrationsOfAgents(db: Db, agentIds: readonly string[]) {
  return db.agentGeneratorRegistration.findMany({
    where: { agentId: { in: [...agentIds] }, generator: { deletedAt: null } },
    include: { generator: true },
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
  if (byGenerator) return db.agentTarget.createMany({ data: [{ agentId, stackId, requiresRegistration: true }], skipDuplicates: true });
  return db.agentTarget.upsert({
    where: { agentId_stackId: { agentId, stackId } },
    create: { agentId, stackId },
    update: { requiresRegistration: false },
  });
}

export function removeTarget(db: Db, agentId: string, stackId: string) {
  return db.agentTarget.deleteMany({ where: { agentId, stackId } });
}
