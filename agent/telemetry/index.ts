import type { Logger } from "pino";
import type { ReportTelemetryInput } from "../generated/operations.ts";
import type { AgentObjectApi, CoreApi } from "../kube/client.ts";
import type { V1Pod } from "../kube/objects.ts";
import { STACK_LABEL } from "../kube/ownership.ts";
import type { TelemetryConfig } from "../config.ts";
import { TelemetryBuffer } from "./buffer.ts";
import { KubeEventPoller } from "./kube-events.ts";
import { PodLogTailer } from "./pod-logs.ts";

/** What telemetry needs of the broker link: a send over the websocket, false when there is none. */
export interface TelemetrySink {
  reportTelemetry(input: ReportTelemetryInput): Promise<boolean>;
}

/** The broker refused the batch itself (its stack stopped reaching the agent, bad input): not retried. */
export class TelemetryRefusedError extends Error {
  override name = "TelemetryRefusedError";
}

export interface TelemetryDeps {
  core: CoreApi;
  objects: AgentObjectApi;
  sink: TelemetrySink;
  logger: Logger;
  /** The stacks this agent runs now: telemetry is collected and sent for these only. */
  stacks: () => ReadonlySet<string>;
  /** True while the websocket is up; Brokkr's telemetry has no REST fallback, nor has ours. */
  connected: () => boolean;
}

export interface TelemetryRuntime {
  /** One collection and send (it also runs on the interval). */
  tick(): Promise<void>;
  stop(): void;
  readonly buffer: TelemetryBuffer;
}

/**
 * The agent's cluster telemetry: every interval, while the websocket is up, lists the stacks'
 * pods, reads new log lines and events, and sends them in bounded batches over the socket.
 * Ticks never overlap; a failed tick is logged and the next one tries again.
 */
export function startTelemetry(settings: TelemetryConfig, deps: TelemetryDeps): TelemetryRuntime {
  const log = deps.logger.child({ module: "telemetry" });
  const buffer = new TelemetryBuffer(settings.logLinesPerSecond);
  const logs = new PodLogTailer({ core: deps.core, buffer, logger: log, maxContainers: settings.maxContainers });
  const events = new KubeEventPoller({ objects: deps.objects, buffer, logger: log });
  let running: Promise<void> | null = null;

  const collect = async () => {
    const stacks = deps.stacks();
    log.debug({ stacks: stacks.size }, "collecting telemetry");
    if (stacks.size === 0) return;
    const pods = await deps.objects.list<V1Pod>("v1", "Pod", undefined, undefined, undefined, undefined, undefined, STACK_LABEL);
    await logs.tick(pods.items, stacks);
    await events.tick(pods.items, stacks);
    buffer.sweep();
  };

  const send = async () => {
    for (let batch = buffer.take(); batch; batch = buffer.take()) {
      try {
        if (!(await deps.sink.reportTelemetry(batch))) return buffer.lost(batch);
      } catch (err) {
        if (err instanceof TelemetryRefusedError) {
          log.warn({ err: err.message }, "the broker refused a telemetry batch; dropped");
          continue;
        }
        log.warn({ err: String(err) }, "sending telemetry failed");
        return buffer.lost(batch);
      }
    }
  };

  const work = async () => {
    try {
      if (!deps.connected()) return log.debug("no websocket to the broker: telemetry not collected");
      await collect();
      await send();
    } catch (err) {
      log.warn({ err: String(err) }, "collecting telemetry failed");
    }
  };
  const tick = () => {
    running ??= work().finally(() => (running = null));
    return running;
  };

  const timer = settings.enabled ? setInterval(() => void tick(), settings.intervalMs) : undefined;
  return {
    buffer,
    tick,
    stop: () => clearInterval(timer),
  };
}
