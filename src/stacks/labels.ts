import type { Identity } from "../auth/identity.js";
import { canReadStack } from "../auth/agent-scope.js";
import { missingOrHidden, ownsStack } from "../auth/policy.js";
import { inTransaction, type Database, type Db } from "../db/client.js";
import { fromDatabaseError } from "../errors.js";
import { requireAnnotation, requireId, requireLabel } from "../validation.js";
import { getManagedStack } from "./service.js";
import * as store from "./store.js";

/*
 * A stack's labels and annotations as rows (Brokkr's REST shape): adding one that exists is a
 * unique violation (409), where GraphQL's mutations are idempotent.
 */

export async function addStackLabelRow(db: Database, identity: Identity, stackId: string, label: string) {
  const value = requireLabel("label", label);
  try {
    return await inTransaction(db, async (tx) =>
      store.insertStackLabel(tx, (await getManagedStack(tx, identity, stackId)).id, value),
    );
  } catch (err) {
    throw fromDatabaseError(err, `the stack already has the label '${value}'`);
  }
}

export async function addStackAnnotationRow(
  db: Database,
  identity: Identity,
  stackId: string,
  input: { key: string; value: string },
) {
  const a = requireAnnotation("annotation", input.key, input.value);
  try {
    return await inTransaction(db, async (tx) =>
      store.insertStackAnnotation(tx, (await getManagedStack(tx, identity, stackId)).id, a.key, a.value),
    );
  } catch (err) {
    throw fromDatabaseError(err, `the stack already has an annotation '${a.key}'`);
  }
}

/** A live stack the caller may read: admin, its generator, or an agent it reaches. */
export async function getReadableStack(db: Db, identity: Identity, id: string) {
  const stack = await store.findStack(db, requireId("id", id));
  const readable =
    stack && (ownsStack(identity, stack) || (identity.role === "AGENT" && (await canReadStack(db, identity.id, stack.id))));
  if (!stack || !readable) throw missingOrHidden(identity, "stack");
  return stack;
}
