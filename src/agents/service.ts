import { forgetIdentity } from "../auth/identity-cache.js";
import { agentReceives } from "../associations/service.js";
import type { Identity } from "../auth/identity.js";
import { mintPak } from "../auth/pak.js";
import { assertAgentSelfOrAdmin, missingOrHidden, ownsStack } from "../auth/policy.js";
import { inTransaction, type Database, type Db } from "../db/client.js";
import { badInput, forbidden, fromDatabaseError, notFound } from "../errors.js";
import { findGenerator } from "../generators/store.js";
import { encodeCursor, toConnection, type Page } from "../graphql/pagination.js";
import { findStack } from "../stacks/store.js";
import {
  LIMITS,
  requireAnnotation,
  requireAnnotations,
  requireId,
  requireLabel,
  requireLabels,
  requireList,
  requireText,
  tooManyTags,
} from "../validation.js";
import * as store from "./store.js";
import { once, pakShownOnce, type Idempotency } from "../idempotency/service.js";
import type { AgentRow } from "./store.js";

export interface CreateAgentInput {
  name: string;
  clusterName: string;
  labels?: string[] | null;
  annotations?: { key: string; value: string }[] | null;
  /** Generators the agent is registered with from the start (Brokkr's `generator_ids`). */
  generatorIds?: string[] | null;
}

/** Agents start INACTIVE: only an admin activates them. */
export async function createAgent(db: Database, identity: Identity, input: CreateAgentInput, idempotency?: Idempotency) {
  const name = requireText("name", input.name, LIMITS.name);
  const clusterName = requireText("clusterName", input.clusterName, LIMITS.name);
  const labels = requireLabels("labels", input.labels);
  const annotations = requireAnnotations("annotations", input.annotations);
  const generatorIds = requireList("generatorIds", input.generatorIds, requireId);
  const { pak, hash } = mintPak();
  try {
    const fields = { name, clusterName, labels, annotations, ...(generatorIds.length > 0 ? { generatorIds } : {}) };
    const request = { identity, operation: "createAgent", input: fields, idempotency };
    const agent = await inTransaction(db, (tx) =>
      once(
        tx,
        request,
        async () => {
          const agent = await store.insertAgent(tx, { name, clusterName, pakHash: hash });
          for (const label of labels) await store.addAgentLabel(tx, agent.id, label);
          for (const a of annotations) await store.setAgentAnnotation(tx, agent.id, a.key, a.value);
          for (const generatorId of generatorIds) {
            if (!(await findGenerator(tx, generatorId))) throw notFound("generator");
            await store.register(tx, agent.id, generatorId);
          }
          return agent;
        },
        (id) => Promise.reject(pakShownOnce("agent", id, idempotency?.field)),
      ),
    );
    return { agent, pak };
  } catch (err) {
    throw fromDatabaseError(err, `an agent named '${name}' already exists in cluster '${clusterName}'`);
  }
}

export async function getAgent(db: Db, id: string, field = "id") {
  const agent = await store.findAgent(db, requireId(field, id));
  if (!agent) throw notFound("agent");
  return agent;
}

/**
 * The agent at `id` for a caller that must be the agent itself (or the admin). An agent naming
 * another id is refused before any lookup, so known and unknown ids answer alike.
 */
export async function getSelfAgent(db: Db, identity: Identity, id: string, field = "id") {
  assertAgentSelfOrAdmin(identity, requireId(field, id));
  const agent = await store.findAgent(db, requireId(field, id));
  if (!agent) throw missingOrHidden(identity, "agent");
  return agent;
}

/**
 * Writes by an agent (events, heartbeats, health, its own name or key) need an agent that
 * receives: the one rule, agentReceives (live and ACTIVE).
 */
export function assertAgentMayWrite(agent: AgentRow): void {
  if (!agentReceives(agent)) throw forbidden("the agent is not active");
}

/** getSelfAgent for a write: an agent writing for itself must be allowed to (assertAgentMayWrite). */
export async function getWritingAgent(db: Db, identity: Identity, id: string, field = "id") {
  const agent = await getSelfAgent(db, identity, id, field);
  if (identity.role === "AGENT") assertAgentMayWrite(agent);
  return agent;
}

/** An agent the caller may read: admin, the agent itself, or a generator it is registered with. */
export async function getVisibleAgent(db: Db, identity: Identity, id: string, field = "id") {
  if (identity.role !== "GENERATOR") return getSelfAgent(db, identity, id, field);
  const agent = await store.findAgent(db, requireId(field, id));
  if (!agent || !(await store.isRegistered(db, agent.id, identity.id))) throw forbidden();
  return agent;
}

export async function listAgents(db: Database, filter: store.AgentListFilter, page: Page) {
  const rows = await store.listAgents(db, filter, page);
  return toConnection(rows, page.first, (a) => encodeCursor([a.name, a.id]));
}

export async function updateAgent(
  db: Database,
  identity: Identity,
  input: { id: string; name?: string | null; clusterName?: string | null; status?: "ACTIVE" | "INACTIVE" | null },
) {
  // An agent may rename itself but never change its own status.
  if (input.status && identity.role !== "ADMIN") throw forbidden("only an admin changes an agent's status");
  const data: { name?: string; clusterName?: string; status?: string } = {};
  if (input.name != null) data.name = requireText("name", input.name, LIMITS.name);
  if (input.clusterName != null) data.clusterName = requireText("clusterName", input.clusterName, LIMITS.name);
  if (input.status) data.status = input.status;
  try {
    const updated = await inTransaction(db, async (tx) => {
      const agent = await getWritingAgent(tx, identity, input.id);
      return store.updateAgent(tx, agent.id, data);
    });
    if (data.status) forgetIdentity(db, "AGENT", updated.id);
    return updated;
  } catch (err) {
    throw fromDatabaseError(err, "an agent with this name already exists in that cluster");
  }
}

export async function rotateAgentPak(db: Database, identity: Identity, id: string) {
  const agent = await getWritingAgent(db, identity, id);
  const { pak, hash } = mintPak();
  const rotated = await store.updateAgent(db, agent.id, { pakHash: hash });
  forgetIdentity(db, "AGENT", agent.id);
  return { agent: rotated, pak };
}

export async function deleteAgent(db: Database, input: { id: string; hard?: boolean | null }) {
  const id = requireId("id", input.id);
  const { count } = input.hard ? await store.hardDeleteAgent(db, id) : await store.softDeleteAgent(db, id);
  forgetIdentity(db, "AGENT", id);
  if (count === 0) throw notFound("agent");
  return { deletedId: id };
}

export async function mutateAgentLabels(
  db: Database,
  agentId: string,
  change: { add?: string; remove?: string; set?: { key: string; value: string }; unset?: string },
) {
  return inTransaction(db, async (tx) => {
    const agent = await getAgent(tx, agentId, "agentId");
    if (change.add !== undefined && !(await store.addAgentLabel(tx, agent.id, requireLabel("label", change.add))))
      throw tooManyTags("label", "agent", "labels");
    if (change.remove !== undefined)
      await store.removeAgentLabel(tx, agent.id, requireText("label", change.remove, LIMITS.label));
    if (change.set) {
      const a = requireAnnotation("annotation", change.set.key, change.set.value);
      if (!(await store.setAgentAnnotation(tx, agent.id, a.key, a.value))) throw tooManyTags("key", "agent", "annotations");
    }
    if (change.unset !== undefined)
      await store.removeAgentAnnotation(tx, agent.id, requireText("key", change.unset, LIMITS.annotationKey));
    return agent;
  });
}

export async function setRegistration(db: Database, input: { agentId: string; generatorId: string }, registered: boolean) {
  return inTransaction(db, async (tx) => {
    const agent = await getAgent(tx, input.agentId, "agentId");
    const generator = await findGenerator(tx, requireId("generatorId", input.generatorId));
    if (!generator) throw notFound("generator");
    if (registered) await store.register(tx, agent.id, generator.id);
    else await store.deregister(tx, agent.id, generator.id);
    return { agent, generator };
  });
}

/**
 * Admin, or the stack's generator for an agent registered with it (its consent). The owner may
 * always remove its own targets, also after the agent withdrew its registration.
 */
export async function setTarget(
  db: Database,
  identity: Identity,
  input: { agentId: string; stackId: string },
  targeted: boolean,
) {
  return inTransaction(db, async (tx) => {
    const stack = await findStack(tx, requireId("stackId", input.stackId), !targeted);
    // Brokkr's code for a generator naming a stack not its own (or none: existence stays secret).
    if (!stack || !ownsStack(identity, stack)) {
      throw identity.role === "GENERATOR"
        ? forbidden("the stack belongs to another generator", "target_generator_mismatch")
        : missingOrHidden(identity, "stack");
    }
    const agent = await store.findAgent(tx, requireId("agentId", input.agentId));
    const byGenerator = identity.role === "GENERATOR";
    // A generator learns nothing of agents not registered with it, not even that they exist; yet
    // it can always remove its own stack's target (withdrawn consent must leave it that way out).
    const hidden = () => forbidden("the agent is not registered with this generator", "agent_not_registered");
    if (!agent) throw byGenerator ? hidden() : notFound("agent");
    const registered = byGenerator && (await store.isRegistered(tx, agent.id, identity.id));
    if (targeted) {
      if (byGenerator && !registered) throw hidden();
      await store.addTarget(tx, agent.id, stack.id, byGenerator);
    } else {
      const removed = await store.removeTarget(tx, agent.id, stack.id);
      if (byGenerator && !registered && removed.count === 0) throw hidden();
    }
    return { agent, stack };
  });
}

export function validateHeartbeat(input: { k8sReachable?: boolean | null; k8sApiLatencyMs?: number | null }) {
  const latency = input.k8sApiLatencyMs;
  if (latency != null && (!Number.isInteger(latency) || latency < 0 || latency > 3_600_000)) {
    throw badInput("k8sApiLatencyMs", "k8sApiLatencyMs must be an integer between 0 and 3600000");
  }
}

/** `agent` comes from getWritingAgent: the caller may write for it. */
export async function heartbeat(
  db: Database,
  agent: AgentRow,
  input: { k8sReachable?: boolean | null; k8sApiLatencyMs?: number | null },
) {
  validateHeartbeat(input);
  return store.updateAgent(db, agent.id, {
    lastHeartbeat: new Date(),
    ...(input.k8sReachable != null ? { k8sReachable: input.k8sReachable } : {}),
    ...(input.k8sApiLatencyMs != null ? { k8sApiLatencyMs: input.k8sApiLatencyMs } : {}),
  });
}
