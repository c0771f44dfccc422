// npm run bench:agent-memory — idle RSS of the shipped agent (dist/agent.mjs, started the way
// docker/Dockerfile.agent starts it) connected to a real broker and the fake Kubernetes API, beside
// the limit measured in the same run: bare node idling with the same flags. Then what each of the
// agent's imports costs on its own, each bundled like the agent (the @kubernetes/client-node lines
// are for comparison: the agent's own client in agent/kube replaced it). Prints figures; never a test.
// BENCH_AGENT_BUNDLE measures another build; BENCH_TRY_FLAGS="--a;--b --c" adds flag sets (each
// beside bare node with the same flags); BENCH_SKIP_IMPORTS=1 skips the import costs.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AGENT_RUN_FLAGS, agentBuildOptions } from "../agent/build.ts";
import { startFakeKube } from "../test/fake-kube/index.js";
import { gql, startBenchBroker } from "./harness.js";

const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 20_000);
const GOAL_MB = 60;
// Another build to compare (e.g. one made from an older commit); the shipped one by default.
const BUNDLE = process.env.BENCH_AGENT_BUNDLE ?? "dist/agent.mjs";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMb(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

/** RSS of `node <flags> <args>` after it has idled SETTLE_MS (or after `ready` and then SETTLE_MS). */
async function idleRss(flags: string[], args: string[], env = process.env, ready?: () => Promise<boolean>) {
  const child = spawn(process.execPath, [...flags, ...args], { stdio: ["ignore", "ignore", "inherit"], env });
  try {
    if (child.pid === undefined) throw new Error("the process did not start");
    for (const start = Date.now(); ready && !(await ready().catch(() => false)); await sleep(100)) {
      if (Date.now() - start > 60_000) throw new Error(`${args.join(" ")} did not get ready`);
    }
    // RSS moves with the collector's timing (more so on a loaded machine): the median of one
    // sample a second over the second half of the settle time.
    await sleep(SETTLE_MS / 2);
    const samples: number[] = [];
    for (let t = 0; t < SETTLE_MS / 2; t += 1000, await sleep(1000)) samples.push(rssMb(child.pid));
    return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)] ?? Number.NaN;
  } finally {
    await stopChild(child);
  }
}

const bareNode = (flags: string[]) => idleRss(flags, ["-e", "setInterval(() => {}, 60_000)"]);

/** The shipped bundle, connected to a real broker as an active agent, nothing targeted: with each set of flags. */
async function shippedAgentRss(flagSets: string[][]): Promise<number[]> {
  const broker = await startBenchBroker("agentmem");
  const kube = await startFakeKube();
  try {
    const created = await gql(
      broker.url,
      broker.adminPak,
      `mutation { createAgent(input: { name: "bench", clusterName: "bench" }) { agent { id } pak } }`,
    );
    const id = created.createAgent.agent.id as string;
    await gql(
      broker.url,
      broker.adminPak,
      `mutation($id: ID!) { updateAgent(input: { id: $id, status: ACTIVE }) { agent { id } } }`,
      {
        id,
      },
    );
    const rss: number[] = [];
    for (const flags of flagSets) {
      const healthPort = 20000 + Math.floor(Math.random() * 20000);
      const env = {
        ...process.env,
        BROKKR__AGENT__BROKER_URL: broker.url,
        BROKKR__AGENT__PAK: created.createAgent.pak,
        BROKKR__AGENT__KUBECONFIG_PATH: kube.kubeconfigPath,
        BROKKR__AGENT__HEALTH_PORT: String(healthPort),
        BROKKR__AGENT__LOG__LEVEL: "warn",
      };
      const ready = async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).ok;
      rss.push(await idleRss(flags, [BUNDLE], env, ready));
    }
    return rss;
  } finally {
    await kube.stop();
    await broker.stop();
  }
}

/** Each line: a module that imports only this, bundled with the agent's own build options. */
const IMPORTS: Record<string, string> = {
  "@kubernetes/client-node, the whole barrel": `import * as k from "@kubernetes/client-node"; globalThis.k = k;`,
  "@kubernetes/client-node, the classes the agent uses, from the barrel": `import { KubeConfig, KubernetesObjectApi, VersionApi, CoreV1Api, ApiException, PatchStrategy } from "@kubernetes/client-node"; globalThis.k = [KubeConfig, KubernetesObjectApi, VersionApi, CoreV1Api, ApiException, PatchStrategy];`,
  "@kubernetes/client-node, KubeConfig + KubernetesObjectApi only": `import { KubeConfig, KubernetesObjectApi } from "@kubernetes/client-node"; globalThis.k = [KubeConfig, KubernetesObjectApi];`,
  "the agent's kube client (agent/kube/client.ts)": `import * as k from "./agent/kube/client.ts"; globalThis.k = k;`,
  "graphql-ws + ws": `import * as a from "graphql-ws"; import * as b from "ws"; globalThis.k = [a, b];`,
  pino: `import * as a from "pino"; globalThis.k = a;`,
  "prom-client": `import * as a from "prom-client"; globalThis.k = a;`,
  yaml: `import * as a from "yaml"; globalThis.k = a;`,
  zod: `import * as a from "zod"; globalThis.k = a;`,
  "zod/mini": `import * as a from "zod/mini"; globalThis.k = a;`,
  "Node's global fetch, once called (loads its bundled undici)": `fetch("http://127.0.0.1:9/").catch(() => {});`,
  "node:http, one request": `import http from "node:http"; http.get("http://127.0.0.1:9/").on("error", () => {});`,
};

async function importCosts(bareMb: number): Promise<void> {
  const { build } = await import("esbuild");
  const dir = mkdtempSync(join(tmpdir(), "brokkr-agent-imports-"));
  try {
    console.log(`what each import costs alone (idle RSS minus bare node's ${bareMb.toFixed(1)} MB; bundle size):`);
    for (const [name, source] of Object.entries(IMPORTS)) {
      const outfile = join(dir, "entry.mjs");
      await build({
        ...agentBuildOptions,
        entryPoints: undefined,
        stdin: { contents: `${source}\nsetInterval(() => {}, 60_000);`, resolveDir: process.cwd(), loader: "ts" },
        outfile,
        sourcemap: false,
      });
      const kb = readFileSync(outfile).length / 1024;
      console.log(`  ${name}: +${((await idleRss(AGENT_RUN_FLAGS, [outfile])) - bareMb).toFixed(1)} MB (${kb.toFixed(0)} KB)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Candidate flag sets to try beside the shipped ones, `;`-separated, e.g. "--lite-mode;--max-lazy".
const TRY_FLAGS = (process.env.BENCH_TRY_FLAGS ?? "")
  .split(";")
  .map((set) => set.trim().split(/\s+/).filter(Boolean))
  .filter((set) => set.length > 0)
  .map((set) => [...AGENT_RUN_FLAGS, ...set]);

const [bareMb, bareNoFlagsMb] = [await bareNode(AGENT_RUN_FLAGS), await bareNode([])];
const bareTried: number[] = [];
for (const flags of TRY_FLAGS) bareTried.push(await bareNode(flags));
const [agentMb = Number.NaN, agentNoFlagsMb = Number.NaN, ...agentTried] = await shippedAgentRss([
  AGENT_RUN_FLAGS,
  [],
  ...TRY_FLAGS,
]);
const row = (what: string, ours: number, limit: number) =>
  console.log(
    `${what}: ours ${ours.toFixed(1)} MB, limit (bare node idling, same flags, same run) ${limit.toFixed(1)} MB, ratio ${(ours / limit).toFixed(2)}×, +${(ours - limit).toFixed(1)} MB`,
  );
console.log(
  `shipped agent (${BUNDLE}) idle RSS, connected to a broker, nothing targeted, median over the last ${SETTLE_MS / 2000} s of ${SETTLE_MS / 1000} s (goal ≤ ${GOAL_MB} MB):`,
);
row(`  as docker/Dockerfile.agent runs it (node ${AGENT_RUN_FLAGS.join(" ")})`, agentMb, bareMb);
row("  plain node, no flags", agentNoFlagsMb, bareNoFlagsMb);
for (const [i, flags] of TRY_FLAGS.entries())
  row(`  tried: node ${flags.join(" ")}`, agentTried[i] ?? Number.NaN, bareTried[i] ?? Number.NaN);
if (!process.env.BENCH_SKIP_IMPORTS) await importCosts(bareMb);
