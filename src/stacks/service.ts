import type { Identity } from "../auth/identity.js";
import { missingOrHidden, ownsStack } from "../auth/policy.js";
import { inTransaction, type Database, type Db } from "../db/client.js";
import { badInput, forbidden, fromDatabaseError, notFound } from "../errors.js";
import { encodeCursor, toConnection, type Page } from "../graphql/pagination.js";
import { findGenerator } from "../generators/store.js";
import {
  LIMITS,
  optionalText,
  requireAnnotation,
  requireAnnotations,
  requireId,
  requireLabel,
  requireLabels,
  requireText,
  tooManyTags,
} from "../validation.js";
import { latestDeletionMarker } from "../deployment-objects/store.js";
import * as store from "./store.js";
import { once, type Idempotency } from "../idempotency/service.js";

export interface CreateStackInput {
  name: string;
  description?: string | null;
  generatorId?: string | null;
  labels?: string[] | null;
  annotations?: { key: string; value: string }[] | null;
}

/** The stack's generator: the caller when a generator, the named one when the admin. */
async function owningGenerator(db: Db, identity: Identity, generatorId?: string | null): Promise<string> {
  if (identity.role === "AGENT") throw forbidden("agents do not create stacks");
  if (identity.role === "GENERATOR") {
    if (generatorId && generatorId !== identity.id) throw forbidden("a generator creates only its own stacks");
    return identity.id;
  }
  if (!generatorId) throw badInput("generatorId", "generatorId is required for the admin");
  const generator = await findGenerator(db, requireId("generatorId", generatorId));
  if (!generator) throw notFound("generator");
  return generator.id;
}

export async function createStack(db: Database, identity: Identity, input: CreateStackInput, idempotency?: Idempotency) {
  const name = requireText("name", input.name, LIMITS.name);
  const description = optionalText("description", input.description, LIMITS.description);
  const labels = requireLabels("labels", input.labels);
  const annotations = requireAnnotations("annotations", input.annotations);
  try {
    const request = {
      identity,
      operation: "createStack",
      input: { name, description, generatorId: input.generatorId, labels, annotations },
      idempotency,
    };
    return await inTransaction(db, (tx) =>
      once(
        tx,
        request,
        async () => {
          const generatorId = await owningGenerator(tx, identity, input.generatorId);
          const stack = await store.insertStack(tx, { generatorId, name, description });
          for (const label of labels) await store.addStackLabel(tx, stack.id, label);
          for (const a of annotations) await store.setStackAnnotation(tx, stack.id, a.key, a.value);
          return stack;
        },
        async (id) => (await store.findStack(tx, id, true)) ?? Promise.reject(notFound("stack")),
      ),
    );
  } catch (err) {
    throw fromDatabaseError(err, `a stack named '${name}' already exists`);
  }
}

/** A live stack the caller may manage (admin or owning generator); only its owner learns it was deleted. */
export async function getManagedStack(db: Db, identity: Identity, id: string, field = "id") {
  const stack = await store.findStack(db, requireId(field, id), true);
  if (!stack || !ownsStack(identity, stack)) throw missingOrHidden(identity, "stack");
  if (stack.deletedAt) throw notFound("stack");
  return stack;
}

export async function listStacks(db: Database, filter: store.StackListFilter, page: Page) {
  const rows = await store.listStacks(db, filter, page);
  return toConnection(rows, page.first, (s) => encodeCursor([s.name, s.id]));
}

export async function updateStack(
  db: Database,
  identity: Identity,
  input: { id: string; name?: string | null; description?: string | null },
) {
  const data: { name?: string; description?: string | null } = {};
  if (input.name !== undefined && input.name !== null) data.name = requireText("name", input.name, LIMITS.name);
  if (input.description !== undefined) data.description = optionalText("description", input.description, LIMITS.description);
  try {
    return await inTransaction(db, async (tx) => {
      await getManagedStack(tx, identity, input.id);
      return store.updateStack(tx, input.id, data);
    });
  } catch (err) {
    throw fromDatabaseError(err, `a stack named '${data.name}' already exists`);
  }
}

/** Soft delete appends a deletion marker (trigger); hard delete removes the stack and its objects. */
export async function deleteStack(db: Database, identity: Identity, input: { id: string; hard?: boolean | null }) {
  return inTransaction(db, async (tx) => {
    const stack = await store.findStack(tx, requireId("id", input.id), true);
    if (!stack || !ownsStack(identity, stack)) throw missingOrHidden(identity, "stack");
    if (input.hard) {
      await store.hardDeleteStack(tx, stack.id);
      return { deletedId: stack.id, deletionMarker: null };
    }
    if (stack.deletedAt) throw notFound("stack");
    await store.softDeleteStack(tx, stack.id);
    return { deletedId: stack.id, deletionMarker: await latestDeletionMarker(tx, stack.id) };
  });
}

export async function addStackLabel(db: Database, identity: Identity, stackId: string, label: string) {
  const value = requireLabel("label", label);
  return inTransaction(db, async (tx) => {
    const stack = await getManagedStack(tx, identity, stackId, "stackId");
    if (!(await store.addStackLabel(tx, stack.id, value))) throw tooManyTags("label", "stack", "labels");
    return stack;
  });
}

export async function removeStackLabel(db: Database, identity: Identity, stackId: string, label: string) {
  const value = requireText("label", label, LIMITS.label);
  return inTransaction(db, async (tx) => {
    const stack = await getManagedStack(tx, identity, stackId, "stackId");
    await store.removeStackLabel(tx, stack.id, value);
    return stack;
  });
}

export async function setStackAnnotation(
  db: Database,
  identity: Identity,
  input: { stackId: string; key: string; value: string },
) {
  const a = requireAnnotation("annotation", input.key, input.value);
  return inTransaction(db, async (tx) => {
    const stack = await getManagedStack(tx, identity, input.stackId, "stackId");
    if (!(await store.setStackAnnotation(tx, stack.id, a.key, a.value))) throw tooManyTags("key", "stack", "annotations");
    return stack;
  });
}

export async function removeStackAnnotation(db: Database, identity: Identity, input: { stackId: string; key: string }) {
  const key = requireText("key", input.key, LIMITS.annotationKey);
  return inTransaction(db, async (tx) => {
    const stack = await getManagedStack(tx, identity, input.stackId, "stackId");
    await store.removeStackAnnotation(tx, stack.id, key);
    return stack;
  });
}
