import { inTransaction, type Database } from "../db/client.js";
import { fromDatabaseError, notFound } from "../errors.js";
import { LIMITS, requireAnnotation, requireLabel, requireText } from "../validation.js";
import { getAgent } from "./service.js";
import * as store from "./store.js";

/*
 * An agent's labels and annotations as rows (Brokkr's REST shape): adding one that exists is a
 * unique violation (409), where GraphQL's mutations are idempotent. The caller is authorized
 * (admin) by the route; the rules of a label are validation.ts's.
 */

export async function addAgentLabelRow(db: Database, agentId: string, label: string) {
  const value = requireLabel("label", label);
  try {
    return await inTransaction(db, async (tx) => store.insertAgentLabel(tx, (await getAgent(tx, agentId)).id, value));
  } catch (err) {
    throw fromDatabaseError(err, `the agent already has the label '${value}'`);
  }
}

export async function addAgentAnnotationRow(db: Database, agentId: string, input: { key: string; value: string }) {
  const a = requireAnnotation("annotation", input.key, input.value);
  try {
    return await inTransaction(db, async (tx) =>
      store.insertAgentAnnotation(tx, (await getAgent(tx, agentId)).id, a.key, a.value),
    );
  } catch (err) {
    throw fromDatabaseError(err, `the agent already has an annotation '${a.key}'`);
  }
}

/** Removes a label or annotation; NOT_FOUND when the agent has none of that name. */
export async function removeAgentLabelRow(db: Database, agentId: string, change: { label?: string; key?: string }) {
  return inTransaction(db, async (tx) => {
    const agent = await getAgent(tx, agentId);
    const { count } =
      change.label !== undefined
        ? await store.removeAgentLabel(tx, agent.id, requireText("label", change.label, LIMITS.label))
        : await store.removeAgentAnnotation(tx, agent.id, requireText("key", change.key ?? "", LIMITS.annotationKey));
    if (count === 0) throw notFoundOf(change);
  });
}

const notFoundOf = (change: { label?: string }) => (change.label !== undefined ? notFound("label") : notFound("annotation"));
