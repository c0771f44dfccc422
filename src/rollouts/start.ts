import { isDeepStrictEqual } from "node:util";
import { inTransaction, type Database, type Db } from "../db/client.js";
import { BrokkrError } from "../errors.js";
import type { EvidenceSigner } from "../evidence/keys.js";
import { moduleLogger } from "../logger.js";
import { renderReleaseForEnvironment, type RenderedRelease } from "../releases/render.js";
import type { InputLimits } from "../validation.js";
import { completeJob } from "./complete.js";
import { listEnvironmentAgents } from "../environments/service.js";
import { findRolloutEnvironment, type RolloutEnvironment } from "./environment-store.js";
import type { ActiveFreezeWindow, FreezeWindowSpec } from "./freeze.js";
import { claimNewJob, insertJob } from "./job-store.js";
import {
  appendDecision,
  approvedWithoutJob,
  lockApprovedWithoutJob,
  movePromotion,
  type PromotionRef,
} from "./promotion-store.js";
import { batchIndexes } from "./strategy.js";
import { insertTasks } from "./task-store.js";

const log = moduleLogger("rollouts");
/** Approved promotions picked up per run. */
const START_BATCH = 20;

export interface StartDeps {
  db: Database;
  signer: () => Promise<EvidenceSigner>;
  limits: InputLimits;
  owner: string;
  leaseTtlMs: () => number;
  /** null until src/environments/freeze-windows.ts activeFreezeWindow is wired in. */
  activeFreezeWindow: ActiveFreezeWindow | null;
  now: () => Date;
}

const freezeGate = (window: FreezeWindowSpec | null, timeZone: string, now: Date) => ({
  name: "NO_ACTIVE_FREEZE",
  passed: window === null,
  detail: window ? `freeze window active${window.reason ? `: ${window.reason}` : ""}` : "no freeze window active",
  inputs: { window, timeZone, now: now.toISOString(), at: "job start" },
  evaluatedAt: now.toISOString(),
});

/** A waiting promotion records a freeze once per window, not once per run. */
async function recordFreezeOnce(db: Database, promotionId: string, gate: ReturnType<typeof freezeGate>): Promise<void> {
  await inTransaction(db, async (tx) => {
    const promotion = await lockApprovedWithoutJob(tx, promotionId);
    if (!promotion) return;
    const last = promotion.decisionRecord.filter((g) => g.name === "NO_ACTIVE_FREEZE").at(-1);
    const window = (last?.inputs as { window?: unknown } | undefined)?.window;
    if (last && !last.passed && isDeepStrictEqual(window, gate.inputs.window)) return;
    await appendDecision(tx, promotionId, gate);
  });
}

/**
 * Without an evaluator wired in (see freeze.ts) only an environment with no freeze windows can
 * be known to be unfrozen; any other waits, failing closed, with the reason recorded.
 */
const UNEVALUATED: FreezeWindowSpec = { reason: "freeze windows cannot be evaluated by this broker" };

function freezeNow(evaluate: ActiveFreezeWindow | null, env: RolloutEnvironment, now: Date): FreezeWindowSpec | null {
  const windows = env.freezeWindows as FreezeWindowSpec[];
  if (!evaluate) return windows.length === 0 ? null : UNEVALUATED;
  try {
    return evaluate(windows, env.timeZone, now);
  } catch {
    // Fails closed, as the request gate does: a window that cannot be read might be a freeze.
    return UNEVALUATED;
  }
}

type Rendering = { ok: true; rendered: RenderedRelease } | { ok: false; message: string };

async function render(deps: StartDeps, p: PromotionRef): Promise<Rendering> {
  try {
    return { ok: true, rendered: await renderReleaseForEnvironment(deps.db, p.releaseId, p.environmentId, deps.limits) };
  } catch (err) {
    // A release that cannot render fails its promotion; a fault of ours (overload, database) is retried next run.
    if (err instanceof BrokkrError && err.code !== "TOO_MANY_REQUESTS" && err.code !== "SERVICE_UNAVAILABLE")
      return { ok: false, message: `the release did not render: ${err.message}` };
    throw err;
  }
}

/** The job and its tasks (agents snapshotted now, batch indexes by strategy); the promotion DEPLOYING. */
async function createJob(
  tx: Db,
  deps: StartDeps,
  p: PromotionRef,
  env: RolloutEnvironment,
  rendering: Rendering,
  signer: EvidenceSigner | null,
) {
  const rendered = rendering.ok ? rendering.rendered : null;
  const job = await insertJob(tx, {
    promotionId: p.id,
    releaseId: p.releaseId,
    environmentId: env.id,
    strategy: env.strategy,
    batchSize: env.batchSize,
    batchPercent: env.batchPercent,
    failureThreshold: env.failureThreshold,
    renderedYaml: rendered?.yamlContent ?? null,
    renderedChecksum: rendered?.checksum ?? null,
    artifacts: rendered?.artifacts ?? {},
    rollbackOf: null,
  });
  // Inactive agents receive nothing (the delivery path withholds it), so their tasks could only wait forever.
  const agents = rendered ? (await listEnvironmentAgents(tx, env.id)).filter((a) => a.status === "ACTIVE") : [];
  const batches = batchIndexes(agents.length, env);
  const digests = rendered?.artifacts.components ?? [];
  await insertTasks(
    tx,
    job.id,
    agents.map((a, i) => ({ agentId: a.id, batchIndex: batches[i] ?? 0, digests })),
  );
  await movePromotion(tx, p.id, ["APPROVED"], "DEPLOYING");
  if (rendering.ok || !signer) return;
  // Claimed here so completeJob (the one place a job ends) may finish it at once.
  const claimed = await claimNewJob(tx, job.id, deps.owner, deps.leaseTtlMs());
  if (claimed) await completeJob(tx, claimed, deps.owner, { status: "FAILED", message: rendering.message }, signer);
}

async function startOne(deps: StartDeps, candidate: PromotionRef): Promise<boolean> {
  const env = await findRolloutEnvironment(deps.db, candidate.environmentId);
  if (!env) return false;
  const now = deps.now();
  const window = freezeNow(deps.activeFreezeWindow, env, now);
  const gate = freezeGate(window, env.timeZone, now);
  if (window) {
    await recordFreezeOnce(deps.db, candidate.id, gate);
    return false;
  }
  const rendering = await render(deps, candidate);
  const signer = rendering.ok ? null : await deps.signer();
  return inTransaction(deps.db, async (tx) => {
    const promotion = await lockApprovedWithoutJob(tx, candidate.id);
    if (!promotion) return false;
    await appendDecision(tx, promotion.id, gate);
    await createJob(tx, deps, promotion, env, rendering, signer);
    return true;
  });
}

/** Starts a job for each APPROVED promotion without one whose environment is not frozen. */
export async function startApproved(deps: StartDeps, signal: AbortSignal): Promise<number> {
  let started = 0;
  for (const candidate of await approvedWithoutJob(deps.db, START_BATCH)) {
    if (signal.aborted) break;
    if (await startOne(deps, candidate)) started++;
    else log.debug({ promotionId: candidate.id }, "approved promotion not started");
  }
  return started;
}
