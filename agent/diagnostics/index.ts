import type { Logger } from "pino";
import { jitteredDelay, sleep } from "../broker/backoff.ts";
import type { BrokerHttp } from "../broker/http.ts";
import type { KubeClients } from "../kube/client.ts";
import { DEFAULT_RETRY } from "../kube/retry.ts";
import { DiagnosticsBroker } from "./broker.ts";
import { collectDiagnostics } from "./collect.ts";

export interface DiagnosticsDeps {
  http: BrokerHttp;
  agentId: string;
  kube: KubeClients;
  logger: Logger;
  /** The REST poll, a fallback and a safety net beside the push (Brokkr polls every 10 s). */
  pollIntervalMs: number;
  /** Hold the graphql-ws subscription (false: REST poll only, as when websockets are blocked). */
  push: boolean;
}

export interface DiagnosticsRunner {
  /** Polls the broker once and handles what is pending (also runs on the interval). */
  pollNow(): Promise<void>;
  stop(): Promise<void>;
}

/** Requests waiting to be handled; more are picked up by a later poll. */
const MAX_QUEUED = 100;

/**
 * The agent's diagnostics: learns of requests by push and by poll, claims each (a request another
 * process claimed, or that expired, is skipped), collects from Kubernetes and submits the result.
 * Requests are handled one at a time, so a burst does not become a burst on the cluster's API.
 */
export function startDiagnostics(deps: DiagnosticsDeps): DiagnosticsRunner {
  const log = deps.logger.child({ module: "diagnostics" });
  const broker = new DiagnosticsBroker(deps.http, log);
  const collect = {
    objects: deps.kube.objects,
    core: deps.kube.core,
    retry: DEFAULT_RETRY,
    logger: log,
  };
  const stopping = new AbortController();
  const known = new Set<string>();
  let chain = Promise.resolve();

  const handle = async (id: string) => {
    const request = await broker.claim(id);
    if (!request || stopping.signal.aborted) return;
    log.info({ requestId: id, deploymentObjectId: request.deploymentObjectId }, "collecting diagnostics");
    const result = await collectDiagnostics(collect, request);
    // The claim is taken: a submission lost to a broker blip would leave the request to expire.
    for (let attempt = 0; ; attempt++) {
      try {
        return await broker.submit(id, result);
      } catch (err) {
        if (attempt >= 2 || stopping.signal.aborted) throw err;
        await sleep(jitteredDelay(attempt, 500, 5_000), stopping.signal);
      }
    }
  };

  const enqueue = (id: string) => {
    if (known.has(id) || known.size >= MAX_QUEUED || stopping.signal.aborted) return;
    known.add(id);
    chain = chain
      .then(() => handle(id))
      .catch((err: unknown) => log.warn({ err, requestId: id }, "handling a diagnostic request failed"))
      .finally(() => known.delete(id));
  };

  const pollNow = async () => {
    try {
      for (const id of await broker.pending(deps.agentId)) enqueue(id);
    } catch (err) {
      log.warn({ err }, "polling for diagnostic requests failed");
    }
    await chain;
  };

  const timer = setInterval(() => void pollNow(), deps.pollIntervalMs);
  timer.unref();
  const listening = deps.push ? broker.listen(enqueue, () => void pollNow(), stopping.signal) : Promise.resolve();
  if (!deps.push) void pollNow();

  return {
    pollNow,
    async stop() {
      stopping.abort();
      clearInterval(timer);
      await listening;
      await chain;
    },
  };
}
