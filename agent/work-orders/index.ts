import type { Logger } from "pino";
import type { BrokerHttp } from "../broker/http.ts";
import type { KubeApplier } from "../kube/applier.ts";
import { WorkOrderExecutor } from "./executor.ts";
import { WorkOrderWorker } from "./worker.ts";

export interface WorkOrderDeps {
  http: BrokerHttp;
  agentId: string;
  applier: Pick<KubeApplier, "applyManifests" | "deleteManifests">;
  logger: Logger;
  pollingIntervalMs: number;
  /** Subscribe (websocket transport) or only poll (REST transport). */
  push: boolean;
  signal: AbortSignal;
}

/** The agent's work-order loop (worker.ts, executor.ts); resolves once `signal` aborts and it has stopped. */
export function runWorkOrders(deps: WorkOrderDeps): Promise<void> {
  const worker = new WorkOrderWorker({
    ...deps.http,
    agentId: deps.agentId,
    executor: new WorkOrderExecutor(deps.applier, deps.agentId),
    logger: deps.logger,
    pollingIntervalMs: deps.pollingIntervalMs,
    push: deps.push,
  });
  return worker.run(deps.signal).catch((err: unknown) => deps.logger.error({ err }, "work-order loop stopped"));
}
