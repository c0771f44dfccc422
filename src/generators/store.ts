import type { Db } from "../db/client.js";
import type { Generator } from "../generated/prisma/client.js";
import { decodeNameIdCursor, type Page } from "../graphql/pagination.js";

export type GeneratorRow = Generator;

export function insertGenerator(db: Db, data: { name: string; description?: string | null; pakHash: string }) {
  return db.generator.create({ data });
}

export function findGenerator(db: Db, id: string, includeDeleted = false) {
  return db.generator.findFirst({ where: { id, ...(includeDeleted ? {} : { deletedAt: null }) } });
}

export function findGeneratorsByIds(db: Db, ids: readonly string[]) {
  return db.generator.findMany({ where: { id: { in: [...ids] } } });
}

/** Live generators ordered by (name, id); `onlyId` narrows the list to one generator. */
export function listGenerators(db: Db, page: Page, onlyId?: string) {
  const [name, id] = page.after ? decodeNameIdCursor(page.after) : [];
  return db.generator.findMany({
    where: {
      deletedAt: null,
      ...(onlyId ? { id: onlyId } : {}),
      ...(name !== undefined ? { OR: [{ name: { gt: name } }, { name, id: { gt: id } }] } : {}),
    },
    orderBy: [{ name: "asc" }, { id: "asc" }],
    take: page.first + 1,
  });
}

export function setGeneratorPakHash(db: Db, id: string, pakHash: string) {
  return db.generator.update({ where: { id }, data: { pakHash } });
}

export function softDeleteGenerator(db: Db, id: string) {
  return db.generator.updateMany({ where: { id, deletedAt: null }, data: { deletedAt: new Date() } });
}

export function touchGenerator(db: Db, id: string) {
  return db.generator.updateMany({ where: { id }, data: { lastActiveAt: new Date() } });
}

export function updateGenerator(db: Db, id: string, data: { name?: string; description?: string | null }) {
  return db.generator.update({ where: { id }, data });
}
