import { forgetIdentity } from "../auth/identity-cache.js";
import { mintPak } from "../auth/pak.js";
import { inTransaction, type Database, type Db } from "../db/client.js";
import type { Identity } from "../auth/identity.js";
import { once, pakShownOnce, type Idempotency } from "../idempotency/service.js";
import { forbidden, fromDatabaseError, notFound } from "../errors.js";
import { encodeCursor, toConnection, type Page } from "../graphql/pagination.js";
import { LIMITS, optionalText, requireId, requireText } from "../validation.js";
import * as store from "./store.js";

export async function createGenerator(
  db: Database,
  identity: Identity,
  input: { name: string; description?: string | null },
  idempotency?: Idempotency,
) {
  const name = requireText("name", input.name, LIMITS.name);
  const description = optionalText("description", input.description, LIMITS.description);
  const { pak, hash } = mintPak();
  const request = { identity, operation: "createGenerator", input: { name, description }, idempotency };
  try {
    const generator = await inTransaction(db, (tx) =>
      once(
        tx,
        request,
        () => store.insertGenerator(tx, { name, description, pakHash: hash }),
        (id) => Promise.reject(pakShownOnce("generator", id, idempotency?.field)),
      ),
    );
    return { generator, pak };
  } catch (err) {
    throw fromDatabaseError(err, `a generator named '${name}' already exists`);
  }
}

export async function getGenerator(db: Db, id: string) {
  const generator = await store.findGenerator(db, requireId("id", id));
  if (!generator) throw notFound("generator");
  return generator;
}

export async function listGenerators(db: Database, page: Page, onlyId?: string) {
  const rows = await store.listGenerators(db, page, onlyId);
  return toConnection(rows, page.first, (g) => encodeCursor([g.name, g.id]));
}

export async function rotateGeneratorPak(db: Database, id: string) {
  await getGenerator(db, id);
  const { pak, hash } = mintPak();
  const generator = await store.setGeneratorPakHash(db, id, hash);
  forgetIdentity(db, "GENERATOR", generator.id);
  return { generator, pak };
}

/** Soft delete; the trigger cascades to its stacks (and their objects, with deletion markers). */
export async function deleteGenerator(db: Database, id: string) {
  const { count } = await store.softDeleteGenerator(db, requireId("id", id));
  forgetIdentity(db, "GENERATOR", id);
  if (count === 0) throw notFound("generator");
  return { deletedId: id };
}

/** A live generator the caller may manage: the admin, or the generator itself. */
export async function getOwnGenerator(db: Db, identity: Identity, id: string) {
  const generatorId = requireId("id", id);
  if (identity.role !== "ADMIN" && !(identity.role === "GENERATOR" && identity.id === generatorId)) throw forbidden();
  return getGenerator(db, generatorId);
}

export async function updateGenerator(
  db: Database,
  identity: Identity,
  id: string,
  input: { name?: string | null; description?: string | null },
) {
  const data: { name?: string; description?: string | null } = {};
  if (input.name != null) data.name = requireText("name", input.name, LIMITS.name);
  if (input.description !== undefined) data.description = optionalText("description", input.description, LIMITS.description);
  try {
    return await inTransaction(db, async (tx) => store.updateGenerator(tx, (await getOwnGenerator(tx, identity, id)).id, data));
  } catch (err) {
    throw fromDatabaseError(err, `a generator named '${data.name}' already exists`);
  }
}
