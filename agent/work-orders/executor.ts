import type { KubeApplier } from "../kube/applier.ts";
import { type Manifest, ManifestError, parseManifests } from "../kube/manifest.ts";
import { OWNER_ANNOTATION } from "../kube/ownership.ts";
import { describeKubeError, isTransient, statusCodeOf } from "../kube/retry.ts";

/** Stamped on what an `apply` work order creates, so its origin can be traced in the cluster. */
export const WORK_ORDER_ANNOTATION = "brokkr.io/work-order-id";

export interface WorkOrderTask {
  id: string;
  workType: string;
  yamlContent: string;
}

/** What the agent reports: Brokkr's `{success, message, retryable}`. */
export interface WorkOrderResult {
  success: boolean;
  message: string;
  retryable: boolean;
}

type Applier = Pick<KubeApplier, "applyManifests" | "deleteManifests">;

/**
 * The work types this agent runs; each needs nothing in the cluster beyond the kinds its payload
 * names (Brokkr's `build` needs Shipwright, so it is not here):
 * - `apply`: server-side apply of the payload's objects as deployments are applied (same field
 *   manager, order, namespace default, retries), stamped with the agent's owner id and the work
 *   order's id; not part of any stack, so never pruned.
 * - `delete`: deletes the objects the payload names (a missing one counts as deleted).
 * - `custom`: Brokkr's generic type, applied as-is (no stamps) and reported once applied. Unlike
 *   Brokkr's agent it does not wait for a Job in the payload to finish.
 * Any other type fails, not retryable, so the broker logs it instead of retrying it.
 */
export class WorkOrderExecutor {
  constructor(
    private readonly applier: Applier,
    private readonly agentId: string,
  ) {}

  async run(task: WorkOrderTask): Promise<WorkOrderResult> {
    const kind = task.workType;
    if (kind !== "apply" && kind !== "delete" && kind !== "custom")
      return { success: false, message: `unknown work type '${kind}' (this agent runs apply, delete, custom)`, retryable: false };
    try {
      const manifests = parseManifests(task.yamlContent);
      if (manifests.length === 0) return { success: false, message: "the payload holds no objects", retryable: false };
      if (kind === "delete")
        return {
          success: true,
          message: `deleted ${await this.applier.deleteManifests(manifests)} of ${manifests.length}`,
          retryable: false,
        };
      const objects = kind === "apply" ? manifests.map((m) => this.stamp(m, task.id)) : manifests;
      return { success: true, message: `applied ${await this.applier.applyManifests(objects)}`, retryable: false };
    } catch (err) {
      return { success: false, message: describeKubeError(err), retryable: isRetryable(err) };
    }
  }

  private stamp(manifest: Manifest, workOrderId: string): Manifest {
    const copy = structuredClone(manifest);
    copy.metadata.annotations = {
      ...copy.metadata.annotations,
      [OWNER_ANNOTATION]: this.agentId,
      [WORK_ORDER_ANNOTATION]: workOrderId,
    };
    return copy;
  }
}

/**
 * A bad payload or an API refusal (400, 403, 404, 422 …) fails the same way again: not retryable.
 * Transient API errors, conflicts and anything else (network, timeouts) may pass on a retry.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ManifestError) return false;
  if (err instanceof Error && /does not serve/.test(err.message)) return false;
  const code = statusCodeOf(err);
  if (code === undefined) return true;
  return isTransient(err) || code === 408 || code === 409;
}
