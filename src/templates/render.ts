import { Worker } from "node:worker_threads";
import { BrokkrError } from "../errors.js";
import { MODULE_PATHS } from "./engine.js";
import { RENDER_WORKER_SOURCE } from "./render-worker.js";

export interface RenderJob {
  body: string;
  schema: string;
  parameters: unknown;
  maxOutputChars: number;
  timeoutMs: number;
  maxConcurrent: number;
}

export type RenderResult =
  | { kind: "invalid"; errors: { path: string; rule: string; message: string }[] }
  | { kind: "failed"; message: string }
  | { kind: "rendered"; output: string };

/** range() in a template yields at most this many numbers. */
export const MAX_RANGE = 10_000;
/** A worker's heap: an 8 MiB output with its intermediate strings fits; a runaway does not. */
const WORKER_HEAP_MB = 96;
/** Loading the worker's modules on a loaded machine; the render's own clock starts after. */
const STARTUP_TIMEOUT_MS = 30_000;

let running = 0;

/**
 * Checks the parameters and renders in a fresh worker thread, so neither a runaway template
 * nor a catastrophic schema `pattern` can block the event loop: the worker is terminated after
 * `timeoutMs` (counted from when its modules are loaded) or when it runs out of its heap.
 * Renders are few (one per instantiation), so a thread per render is cheaper than keeping a
 * pool warm; at most `maxConcurrent` run at once in this process, others get TOO_MANY_REQUESTS.
 */
export async function renderInWorker(job: RenderJob): Promise<RenderResult> {
  if (running >= job.maxConcurrent)
    throw new BrokkrError("TOO_MANY_REQUESTS", "too many templates are rendering; retry shortly", undefined, "too_many_renders");
  running++;
  try {
    return await runWorker(job);
  } finally {
    running--;
  }
}

function runWorker(job: RenderJob): Promise<RenderResult> {
  const worker = new Worker(RENDER_WORKER_SOURCE, {
    eval: true,
    env: {},
    stdout: true,
    stderr: true,
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: 16 },
    workerData: {
      modules: MODULE_PATHS,
      body: job.body,
      schema: job.schema,
      parameters: job.parameters,
      maxOutputChars: job.maxOutputChars,
      maxRange: MAX_RANGE,
    },
  });
  return new Promise<RenderResult>((resolve, reject) => {
    let settled = false;
    const finish = (outcome: RenderResult | BrokkrError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      if (outcome instanceof BrokkrError) reject(outcome);
      else resolve(outcome);
    };
    const overrun = (what: string) => () => finish(renderRefusal(`the template ${what}`));
    let timer = setTimeout(overrun(`did not start within ${STARTUP_TIMEOUT_MS} ms`), STARTUP_TIMEOUT_MS);
    worker.on("message", (message: "started" | RenderResult) => {
      if (message !== "started") return finish(message);
      clearTimeout(timer);
      timer = setTimeout(overrun(`did not finish rendering within ${job.timeoutMs} ms`), job.timeoutMs);
    });
    worker.on("error", (err: Error & { code?: string }) =>
      finish(
        renderRefusal(
          err.code === "ERR_WORKER_OUT_OF_MEMORY"
            ? `the template used more than ${WORKER_HEAP_MB} MB while rendering`
            : `the template could not be rendered: ${err.message.slice(0, 300)}`,
        ),
      ),
    );
    worker.on("exit", () => finish(renderRefusal("the template could not be rendered")));
  });
}

export const renderRefusal = (message: string) =>
  new BrokkrError("BAD_USER_INPUT", message, "templateContent", "template_render_failed");
