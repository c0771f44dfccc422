import type { Db } from "../db/client.js";
import type { User } from "../generated/prisma/client.js";
import { decodeNameIdCursor, type Page } from "../graphql/pagination.js";

export type UserRow = User;

export function insertUser(db: Db, data: { name: string; role: string; pakHash: string }) {
  return db.user.create({ data });
}

export function findLiveUser(db: Db, id: string) {
  return db.user.findFirst({ where: { id, deletedAt: null } });
}

/** Live users by (name, id). */
export function listUsers(db: Db, page: Page) {
  const [name, id] = page.after ? decodeNameIdCursor(page.after) : [];
  return db.user.findMany({
    where: { deletedAt: null, ...(name !== undefined ? { OR: [{ name: { gt: name } }, { name, id: { gt: id } }] } : {}) },
    orderBy: [{ name: "asc" }, { id: "asc" }],
    take: page.first + 1,
  });
}

export function setUserPakHash(db: Db, id: string, pakHash: string) {
  return db.user.update({ where: { id }, data: { pakHash } });
}

/** Soft delete: the key stops resolving at once (partial index over live rows). */
export function softDeleteUser(db: Db, id: string) {
  return db.user.updateMany({ where: { id, deletedAt: null }, data: { deletedAt: new Date(), pakHash: null } });
}

/** Users by id, deleted ones too: a promotion still names who asked or approved. */
export function findUsersByIds(db: Db, ids: readonly string[]) {
  return db.user.findMany({ where: { id: { in: [...ids] } } });
}
