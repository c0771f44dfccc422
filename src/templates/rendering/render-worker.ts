/*
 * The code of a render worker, as plain JavaScript run with `new Worker(code, { eval: true })`:
 * a string, so the bundled broker needs no extra file and no transpiler touches it.
 *
 * Nunjucks is not a sandbox: `{{ range.constructor("return process")() }}` runs any code. So the
 * worker replaces nunjucks' lookups of names, members, filters and tests with ones that see
 * only own properties and never a name of Object.prototype (constructor, __proto__, …), which
 * is how every such escape reaches Function. Parameters are JSON (no functions). The loader
 * refuses every include, import and extends. The worker has an empty environment (no secrets),
 * a memory cap, and is terminated when it overruns its time (render.ts).
 *
 * workerData { modules, maxRange }. Posts "ready" once loaded, then takes one job message
 * { body, schema, parameters, maxOutputChars }, posts "started" and one of { kind: "invalid",
 * errors } | { kind: "failed", message } | { kind: "rendered", output }. One job per worker: no
 * state outlives a render.
 */
export const RENDER_WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
const nunjucks = require(workerData.modules.nunjucks);
const Ajv = require(workerData.modules.ajv).default;
const addFormats = require(workerData.modules.ajvFormats).default;
const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const hidden = (k) => typeof k !== "string" || own(Object.prototype, k) || k === "prototype";
const rt = nunjucks.runtime;
const memberLookup = rt.memberLookup;
rt.memberLookup = (obj, key) => {
  if (obj === undefined || obj === null) return undefined;
  const k = typeof key === "number" ? String(key) : key;
  if (hidden(k) || !own(Object(obj), k)) return undefined;
  return memberLookup(obj, k);
};
const contextOrFrameLookup = rt.contextOrFrameLookup;
rt.contextOrFrameLookup = (context, frame, name) => (hidden(name) ? undefined : contextOrFrameLookup(context, frame, name));
const refuse = { getSource(name) { throw new Error("templates may not include, import or extend other templates ('" + name + "')"); } };
const env = new nunjucks.Environment([refuse], { autoescape: false, throwOnUndefined: false });
for (const [kind, table] of [["getFilter", "filters"], ["getTest", "tests"]]) {
  env[kind] = (name) => {
    if (hidden(name) || !own(env[table], name)) throw new Error("unknown " + table.slice(0, -1) + " '" + name + "'");
    return env[table][name];
  };
}
env.addGlobal("range", (start, stop, step) => {
  if (stop === undefined) { stop = start; start = 0; }
  step = step || 1;
  const n = Math.ceil((stop - start) / step);
  if (!(n <= workerData.maxRange)) throw new Error("range() is limited to " + workerData.maxRange + " items");
  const out = [];
  for (let i = 0; i < n; i++) out.push(start + i * step);
  return out;
});
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
parentPort.postMessage("ready");
parentPort.once("message", (job) => {
parentPort.postMessage("started");
const validate = ajv.compile(JSON.parse(job.schema));
if (!validate(job.parameters)) {
  const errors = (validate.errors || []).slice(0, 10).map((e) => ({
    path: e.instancePath + (e.keyword === "required" ? "/" + e.params.missingProperty : ""),
    rule: e.keyword,
    message: e.message || e.keyword,
  }));
  parentPort.postMessage({ kind: "invalid", errors });
} else {
  try {
    const params = job.parameters;
    const context = params && typeof params === "object" && !Array.isArray(params) ? params : { parameters: params };
    const output = env.renderString(job.body, context);
    if (output.length > job.maxOutputChars)
      parentPort.postMessage({ kind: "failed", message: "the rendered output is over " + job.maxOutputChars + " characters" });
    else parentPort.postMessage({ kind: "rendered", output });
  } catch (err) {
    const text = String((err && err.message) || err).replace(/^Error: /, "").replace(/^\(unknown path\)\s*/, "").replace(/\s+/g, " ").trim();
    parentPort.postMessage({ kind: "failed", message: text.slice(0, 500) });
  }
}
});
`;
