import type { Identity } from "../auth/identity.js";
import { inTransaction, type Database } from "../db/client.js";
import type { CommitHook } from "../delivery/commit-feed.js";
import { createDeploymentObject } from "../deployment-objects/service.js";
import { latestObjectsOfStacks } from "../deployment-objects/store.js";
import { addTarget } from "../agents/store.js";
import type { EvidenceSigner } from "../evidence/keys.js";
import { sqlState } from "../errors.js";
import { insertStack } from "../stacks/store.js";
import type { InputLimits } from "../validation.js";
import { ensureSystemGenerator, findEnvironmentStack, insertEnvironmentStack } from "./environment-store.js";
import type { JobRow } from "./job-store.js";
import { markDelivered, pendingTasks, rollbackSource, type TaskRow } from "./task-store.js";

export const ORCHESTRATOR_GENERATOR = "brokkr-release-orchestrator";

export interface DeliveryDeps {
  db: Database;
  committed: CommitHook;
  limits: InputLimits;
  owner: string;
  /** The orchestrator's generator id, looked up (or created) once per broker. */
  generatorId: () => Promise<string>;
  /** The evidence signing key (src/evidence), for the completion packet. */
  signer: () => Promise<EvidenceSigner>;
  /** How long a delivered task waits for its agent's report before it fails (live setting). */
  taskTimeoutSeconds: () => number;
}

export function orchestratorGenerator(db: Database): () => Promise<string> {
  let id: Promise<string> | null = null;
  return () => {
    id ??= ensureSystemGenerator(db, ORCHESTRATOR_GENERATOR, "Delivers releases to environments (src/rollouts)").catch(
      (err: unknown) => {
        id = null;
        throw err;
      },
    );
    return id;
  };
}

/**
 * The stack through which the environment reaches this agent: owned by the orchestrator's
 * generator and targeted at the agent alone (an admin's target: no registration needed), made on
 * first use. Two brokers making it at once: the loser's transaction fails on a unique key and it
 * reads the winner's.
 */
async function environmentStack(deps: DeliveryDeps, environmentId: string, agentId: string): Promise<string> {
  const existing = await findEnvironmentStack(deps.db, environmentId, agentId);
  if (existing) return existing;
  const generatorId = await deps.generatorId();
  try {
    return await inTransaction(deps.db, async (tx) => {
      const stack = await insertStack(tx, {
        generatorId,
        name: `release-${environmentId}-${agentId}`,
        description: "Release deliveries of one environment to one agent (src/rollouts)",
      });
      await insertEnvironmentStack(tx, environmentId, agentId, stack.id);
      await addTarget(tx, agentId, stack.id);
      return stack.id;
    });
  } catch (err) {
    const raced = sqlState(err) === "23505" || (err as { code?: string }).code === "P2002";
    const stackId = raced ? await findEnvironmentStack(deps.db, environmentId, agentId) : null;
    if (!stackId) throw err;
    return stackId;
  }
}

/** What the task delivers: the job's rendering, or for a rollback what the stack held before (a deletion marker when nothing). */
async function contentOf(deps: DeliveryDeps, job: JobRow, task: TaskRow) {
  if (!job.rollbackOf) return { yamlContent: job.renderedYaml ?? "", isDeletionMarker: false };
  const previous = await rollbackSource(deps.db, job.rollbackOf, task.agentId);
  return previous ?? { yamlContent: "", isDeletionMarker: true };
}

class StaleDelivery extends Error {}

/**
 * Creates the task's object through the deployment-object service (delivery, fan-out, outbox as
 * for any object); the task becomes DELIVERED in the object's transaction, guarded, so a task is
 * delivered once however many brokers try. Returns whether this call delivered it.
 */
async function deliverTask(deps: DeliveryDeps, job: JobRow, task: TaskRow): Promise<boolean> {
  const stackId = task.stackId ?? (await environmentStack(deps, job.environmentId, task.agentId));
  const [previous] = await latestObjectsOfStacks(deps.db, [stackId]);
  const content = await contentOf(deps, job, task);
  const identity: Identity = { role: "GENERATOR", id: await deps.generatorId() };
  const alongside = async (tx: Parameters<typeof markDelivered>[0], object: { id: string }) => {
    const task_ = { id: task.id, jobId: job.id, stackId, objectId: object.id, previousObjectId: previous?.id ?? null };
    if (!(await markDelivered(tx, deps.owner, task_))) throw new StaleDelivery();
  };
  try {
    await createDeploymentObject(deps.db, identity, { stackId, ...content }, deps.committed, {
      limits: deps.limits,
      alongside,
    });
    return true;
  } catch (err) {
    if (err instanceof StaleDelivery) return false;
    throw err;
  }
}

/** Delivers every PENDING task of the batches up to `batch`; returns how many this broker delivered. */
export async function deliverBatch(deps: DeliveryDeps, job: JobRow, batch: number): Promise<number> {
  let delivered = 0;
  for (const task of await pendingTasks(deps.db, job.id, batch)) if (await deliverTask(deps, job, task)) delivered++;
  return delivered;
}
