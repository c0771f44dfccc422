import { Worker } from "node:worker_threads";
import { BrokkrError } from "../../errors.js";
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
/** One loaded worker kept ready, so a render does not wait for a thread to start and load nunjucks. */
let spare: Promise<Worker> | null = null;

/**
 * Checks the parameters and renders in a worker thread of its own, so neither a runaway template
 * nor a catastrophic schema `pattern` can block the event loop: the worker is terminated after
 * `timeoutMs` (counted from when it is handed the job; its modules are loaded by then) or when
 * it runs out of its heap. Each worker serves one render and is then terminated, and the next
 * one is started in the background. At most `maxConcurrent` renders run at once in this
 * process; others get TOO_MANY_REQUESTS.
 */
export async function renderInWorker(job: RenderJob): Promise<RenderResult> {
  if (running >= job.maxConcurrent)
    throw new BrokkrError("TOO_MANY_REQUESTS", "too many templates are rendering; retry shortly", undefined, "too_many_renders");
  running++;
  try {
    // Taken and replaced in one synchronous step, so two renders never share a worker.
    const next = spare ?? startWorker();
    const fresh = startWorker();
    spare = fresh;
    // A spare that failed to start is replaced on the next render.
    fresh.catch(() => {
      if (spare === fresh) spare = null;
    });
    // A spare that died while idle is replaced by a fresh worker for this render.
    const worker = await next.catch(() => startWorker());
    return await runJob(worker, job);
  } finally {
    running--;
  }
}

/** A worker that has loaded its modules ("ready"); it keeps no process alive while idle. */
function startWorker(): Promise<Worker> {
  const worker = new Worker(RENDER_WORKER_SOURCE, {
    eval: true,
    env: {},
    stdout: true,
    stderr: true,
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: 16 },
    workerData: { modules: MODULE_PATHS, maxRange: MAX_RANGE },
  });
  worker.unref();
  return new Promise<Worker>((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(renderRefusal(`the template renderer did not start within ${STARTUP_TIMEOUT_MS} ms`));
    }, STARTUP_TIMEOUT_MS);
    timer.unref();
    const failed = (err?: Error) => {
      clearTimeout(timer);
      worker.off("exit", exited);
      reject(renderRefusal(`the template renderer failed to start${err ? `: ${err.message.slice(0, 200)}` : ""}`));
    };
    const exited = () => failed();
    worker.once("message", () => {
      clearTimeout(timer);
      worker.off("error", failed);
      worker.off("exit", exited);
      resolve(worker);
    });
    worker.once("error", failed);
    worker.once("exit", exited);
  });
}

function runJob(worker: Worker, job: RenderJob): Promise<RenderResult> {
  return new Promise<RenderResult>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: RenderResult | BrokkrError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      if (outcome instanceof BrokkrError) reject(outcome);
      else resolve(outcome);
    };
    // The worker has loaded its modules already, so the clock measures the job alone.
    timer = setTimeout(
      () => finish(renderRefusal(`the template did not finish rendering within ${job.timeoutMs} ms`)),
      job.timeoutMs,
    );
    worker.on("message", (message: "started" | RenderResult) => {
      if (message !== "started") finish(message);
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
    worker.postMessage({ body: job.body, schema: job.schema, parameters: job.parameters, maxOutputChars: job.maxOutputChars });
  });
}

export const renderRefusal = (message: string) =>
  new BrokkrError("BAD_USER_INPUT", message, "templateContent", "template_render_failed");
