import { forgetIdentity } from "../auth/identity-cache.js";
import type { Identity, UserRole } from "../auth/identity.js";
import { mintPak } from "../auth/pak.js";
import { refuseReadOnly, requireAdmin } from "../auth/policy.js";
import type { Database, Db } from "../db/client.js";
import { fromDatabaseError, notFound } from "../errors.js";
import { encodeCursor, toConnection, type Page } from "../graphql/pagination.js";
import { LIMITS, requireId, requireText } from "../validation.js";
import * as store from "./store.js";

/** Managing people is the admin's: the admin key or an ADMIN user, never a read-only one. */
function requireUserAdmin(identity: Identity | null): void {
  requireAdmin(identity);
  refuseReadOnly(identity);
}

export async function createUser(db: Database, identity: Identity | null, input: { name: string; role: UserRole }) {
  requireUserAdmin(identity);
  const name = requireText("name", input.name, LIMITS.name);
  const { pak, hash } = mintPak();
  try {
    const user = await store.insertUser(db, { name, role: input.role, pakHash: hash });
    return { user, pak };
  } catch (err) {
    throw fromDatabaseError(err, `a user named '${name}' already exists`);
  }
}

export async function listUsers(db: Db, identity: Identity | null, page: Page) {
  requireAdmin(identity);
  const rows = await store.listUsers(db, page);
  return toConnection(rows, page.first, (u) => encodeCursor([u.name, u.id]));
}

/** A new key; the old one stops resolving at once, and the identity trigger closes its websockets. */
export async function rotateUserPak(db: Database, identity: Identity | null, id: string) {
  requireUserAdmin(identity);
  const user = await store.findLiveUser(db, requireId("id", id));
  if (!user) throw notFound("user");
  const { pak, hash } = mintPak();
  const rotated = await store.setUserPakHash(db, user.id, hash);
  forgetIdentity(db, "USER", user.id);
  return { user: rotated, pak };
}

export async function deleteUser(db: Database, identity: Identity | null, id: string) {
  requireUserAdmin(identity);
  const { count } = await store.softDeleteUser(db, requireId("id", id));
  forgetIdentity(db, "USER", id);
  if (count === 0) throw notFound("user");
  return { deletedId: id };
}

export async function findUser(db: Db, id: string) {
  return store.findLiveUser(db, id);
}
