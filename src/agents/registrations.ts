import type { Identity } from "../auth/identity.js";
import { inTransaction, type Database, type Db } from "../db/client.js";
import { BrokkrError, forbidden, fromDatabaseError, notFound } from "../errors.js";
import { findGenerator } from "../generators/store.js";
import { requireId } from "../validation.js";
import { getSelfAgent } from "./service.js";
import * as store from "./store.js";

/*
 * Registration (an agent's consent to a generator's stacks) by Brokkr's REST rules: the admin
 * names the agent, an agent registers only itself. An INACTIVE agent may: Brokkr's agent
 * registers at start-up, before an admin activates it, and consent delivers nothing to an agent
 * that does not receive. Deregistering keeps the generator's targets, which stop reaching the
 * agent until it registers again.
 */

async function registrant(db: Db, identity: Identity, agentId: string | null | undefined) {
  if (identity.role === "GENERATOR") throw forbidden();
  if (identity.role === "ADMIN" && !agentId)
    throw new BrokkrError("BAD_USER_INPUT", "agent_id is required for the admin", "agent_id", "missing_agent_id");
  if (identity.role === "AGENT" && agentId && agentId !== identity.id) {
    throw new BrokkrError("BAD_USER_INPUT", "agent_id does not match the caller", "agent_id", "agent_id_mismatch");
  }
  return getSelfAgent(db, identity, agentId ?? identity.id ?? "", "agent_id");
}

export async function registerAgentWith(db: Database, identity: Identity, generatorId: string, agentId?: string | null) {
  try {
    return await inTransaction(db, async (tx) => {
      const agent = await registrant(tx, identity, agentId);
      const generator = await findGenerator(tx, requireId("id", generatorId));
      if (!generator) throw notFound("generator");
      return await store.insertRegistration(tx, agent.id, generator.id);
    });
  } catch (err) {
    const e = fromDatabaseError(err);
    if (e instanceof BrokkrError && e.reason === "unique_violation")
      throw new BrokkrError("CONFLICT", "the agent is already registered with this generator", undefined, "already_registered");
    throw e;
  }
}

export async function deregisterAgentFrom(db: Database, identity: Identity, generatorId: string, agentId?: string | null) {
  await inTransaction(db, async (tx) => {
    const agent = await registrant(tx, identity, agentId);
    const { count } = await store.deregister(tx, agent.id, requireId("id", generatorId));
    if (count === 0) throw notFound("registration");
  });
}

/** Admin, or the generator itself. */
export async function registrationsOfGenerator(db: Database, identity: Identity, generatorId: string) {
  const id = requireId("id", generatorId);
  if (identity.role !== "ADMIN" && !(identity.role === "GENERATOR" && identity.id === id)) throw forbidden();
  if (!(await findGenerator(db, id))) throw notFound("generator");
  return store.registrationsOfGenerator(db, id);
}
