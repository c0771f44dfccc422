import type { Db } from "../db/client.js";
import type { Prisma, Stack } from "../generated/prisma/client.js";
import { decodeNameIdCursor, type Page } from "../graphql/pagination.js";

export type StackRow = Stack;

export interface StackListFilter {
  labels?: string[];
  annotations?: { key: string; value: string }[];
  generatorId?: string;
  /** Restricts the list to these stack ids (an agent's associated stacks). */
  ids?: string[];
  includeDeleted?: boolean;
}

export function insertStack(db: Db, data: { generatorId: string; name: string; description?: string | null }) {
  return db.stack.create({ data });
}

export function findStack(db: Db, id: string, includeDeleted = false) {
  return db.stack.findFirst({ where: { id, ...(includeDeleted ? {} : { deletedAt: null }) } });
}

export function findStacksByIds(db: Db, ids: readonly string[]) {
  return db.stack.findMany({ where: { id: { in: [...ids] } } });
}

export function listStacks(db: Db, filter: StackListFilter, page: Page) {
  const [name, id] = page.after ? decodeNameIdCursor(page.after) : [];
  const and: Prisma.StackWhereInput[] = [
    ...(filter.labels ?? []).map((label) => ({ labels: { some: { label } } })),
    ...(filter.annotations ?? []).map((a) => ({ annotations: { some: { key: a.key, value: a.value } } })),
  ];
  if (name !== undefined) and.push({ OR: [{ name: { gt: name } }, { name, id: { gt: id } }] });
  return db.stack.findMany({
    where: {
      ...(filter.includeDeleted ? {} : { deletedAt: null }),
      ...(filter.generatorId ? { generatorId: filter.generatorId } : {}),
      ...(filter.ids ? { id: { in: filter.ids } } : {}),
      AND: and,
    },
    orderBy: [{ name: "asc" }, { id: "asc" }],
    take: page.first + 1,
  });
}

export function updateStack(db: Db, id: string, data: { name?: string; description?: string | null }) {
  return db.stack.update({ where: { id }, data });
}

export function softDeleteStack(db: Db, id: string) {
  return db.stack.updateMany({ where: { id, deletedAt: null }, data: { deletedAt: new Date() } });
}

/** The trigger removes the stack's targets, its objects and their events first. */
export function hardDeleteStack(db: Db, id: string) {
  return db.stack.deleteMany({ where: { id } });
}

export function addStackLabel(db: Db, stackId: string, label: string) {
  return db.stackLabel.createMany({ data: [{ stackId, label }], skipDuplicates: true });
}

export function removeStackLabel(db: Db, stackId: string, label: string) {
  return db.stackLabel.deleteMany({ where: { stackId, label } });
}

export function setStackAnnotation(db: Db, stackId: string, key: string, value: string) {
  return db.stackAnnotation.upsert({
    where: { stackId_key: { stackId, key } },
    create: { stackId, key, value },
    update: { value },
  });
}

export function removeStackAnnotation(db: Db, stackId: string, key: string) {
  return db.stackAnnotation.deleteMany({ where: { stackId, key } });
}

export function labelsOfStacks(db: Db, stackIds: readonly string[]) {
  return db.stackLabel.findMany({ where: { stackId: { in: [...stackIds] } }, orderBy: { label: "asc" } });
}

export function annotationsOfStacks(db: Db, stackIds: readonly string[]) {
  return db.stackAnnotation.findMany({ where: { stackId: { in: [...stackIds] } }, orderBy: { key: "asc" } });
}

/** Live agents explicitly targeted at each stack. */
export function targetsOfStacks(db: Db, stackIds: readonly string[]) {
  return db.agentTarget.findMany({
    where: { stackId: { in: [...stackIds] }, agent: { deletedAt: null } },
    include: { agent: true },
    orderBy: { createdAt: "asc" },
  });
}
