// npm run bench:agent — the agent against the fake Kubernetes API: the apply time of one
// deployment object holding 500 objects through the Reconciler, the writes on an unchanged re-delivery, and the RSS of
// the real agent process connected to a broker, under tsx and as the shipped bundle. Prints figures; never
// a test. BENCH_KUBE_LATENCY_MS adds a delay to every fake API response (default 0).
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { pino } from "pino";
import type { AgentEventReport, DeploymentEvent } from "../agent/broker/types.js";
import { AGENT_RUN_FLAGS } from "../agent/build.ts";
import { KubeApplier } from "../agent/kube/applier.js";
import { createKubeClients, loadKubeConfig } from "../agent/kube/client.js";
import { Reconciler } from "../agent/reconciler.js";
import { type FakeKube, startFakeKube } from "../test/fake-kube/index.js";
import { gql, startBenchBroker } from "./harness.js";

const OBJECTS = 500;
const NAMESPACES = ["bench-a", "bench-b", "bench-c"];
const LATENCY_MS = Number(process.env.BENCH_KUBE_LATENCY_MS ?? 0);
const SETTLE_MS = 5_000;
// The flags docker/Dockerfile.agent runs the bundle (npm run build:agent) with.
const SHIPPED_FLAGS = AGENT_RUN_FLAGS;
const logger = pino({ level: "silent" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function manifest(i: number): string {
  const ns = NAMESPACES[i % NAMESPACES.length];
  const name = `bench-${i}`;
  const labels = `\n    app: ${name}`;
  switch (i % 3) {
    case 0:
      return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${ns}\ndata:\n  config.yaml: "replicas: 2\\nlevel: info\\nentry: ${i}"\n`;
    case 1:
      return `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  selector:${labels}\n  ports:\n    - port: 80\n      targetPort: 8080\n`;
    default:
      return (
        `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  replicas: 2\n` +
        `  selector:\n    matchLabels:${labels}\n  template:\n    metadata:\n      labels:\n        app: ${name}\n    spec:\n` +
        `      containers:\n        - name: app\n          image: registry.example/app:1.${i}\n          ports:\n            - containerPort: 8080\n` +
        `          resources:\n            requests:\n              cpu: 10m\n              memory: 32Mi\n`
      );
  }
}

/** One stack of OBJECTS objects: its namespaces, then ConfigMaps, Services and Deployments. */
function stackYaml(): { yaml: string; counts: Record<string, number> } {
  const docs = NAMESPACES.map((ns) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`);
  for (let i = 0; docs.length < OBJECTS; i++) docs.push(manifest(i));
  const counts: Record<string, number> = {};
  for (const d of docs) {
    const kind = /^kind: (\w+)$/m.exec(d)?.[1] ?? "unknown";
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return { yaml: docs.join("---\n"), counts };
}

/** The agent's reconcile path without a broker: `deliver` resolves with the object's report. */
function reconcilerFor(kube: FakeKube) {
  const objects = createKubeClients(loadKubeConfig(kube.kubeconfigPath)).objects;
  const applier = new KubeApplier({ objects, agentId: "bench-agent", defaultNamespace: "default", logger });
  const waiting = new Map<string, (report: AgentEventReport) => void>();
  const reporter = { reportEvent: async (r: AgentEventReport) => waiting.get(r.deploymentObjectId)?.(r) };
  const reconciler = new Reconciler({ applier, reporter, logger });
  const deliver = (event: DeploymentEvent) =>
    new Promise<AgentEventReport>((resolve) => {
      waiting.set(event.deploymentObject?.id ?? event.stackId, resolve);
      reconciler.handle(event);
    });
  return { reconciler, deliver };
}

async function applyFigures(yaml: string): Promise<void> {
  const kube = await startFakeKube();
  kube.setLatency(LATENCY_MS);
  const yamlChecksum = createHash("sha256").update(yaml).digest("hex");
  const event = (seq: number): DeploymentEvent => ({
    type: "DEPLOY",
    stackId: "bench-stack",
    deploymentObject: {
      id: `bench-object-${seq}`,
      sequenceId: String(seq),
      yamlContent: yaml,
      yamlChecksum,
      isDeletionMarker: false,
    },
  });
  const first = reconcilerFor(kube);
  const started = performance.now();
  const report = await first.deliver(event(1));
  const ms = performance.now() - started;
  console.log(
    `apply, one object of ${OBJECTS} resources (fake API latency ${LATENCY_MS} ms): ${ms.toFixed(0)} ms total, ${((OBJECTS / ms) * 1000).toFixed(0)} objects/s`,
  );
  console.log(`  outcome ${report.status}; ${kube.requests().length} API requests, ${kube.writeCount()} writes`);

  kube.resetRequests();
  const again = await first.deliver(event(2));
  console.log(
    `unchanged re-delivery, same process: ${kube.writeCount()} writes, ${kube.requests().length} requests (${again.status})`,
  );
  await first.reconciler.stop();

  kube.resetRequests();
  const restarted = reconcilerFor(kube);
  const restartedAt = performance.now();
  const fresh = await restarted.deliver(event(3));
  const restartMs = performance.now() - restartedAt;
  console.log(
    `unchanged re-delivery after a restart: ${kube.writeCount()} writes, ${kube.requests().length} requests (reads), ${restartMs.toFixed(0)} ms (${fresh.status})`,
  );
  await restarted.reconciler.stop();
  await kube.stop();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function rssMb(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
  return kb / 1024;
}

/** The agent's own V8 heap in use, from its /metrics, to tell code and heap apart in the RSS. */
async function heapUsedMb(healthPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
  return Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1]) / 1048576;
}

async function until(check: () => Promise<boolean>, what: string, ms = 120_000): Promise<void> {
  for (const start = Date.now(); !(await check().catch(() => false)); await sleep(100)) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
  }
}

/** RSS of a process that only loads the tsx loader: the floor under the agent's figure. */
async function loaderFloorMb(): Promise<number> {
  const child = spawn(process.execPath, ["--import", "tsx", "-e", "setInterval(() => {}, 60_000)"], { stdio: "ignore" });
  await sleep(SETTLE_MS);
  const mb = child.pid === undefined ? NaN : rssMb(child.pid);
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
  return mb;
}

/** How the agent process is started: as in development (tsx) and as shipped (bundle, small heap). */
const FORMS: { name: string; args: string[] }[] = [
  { name: "development: node --import tsx agent/main.ts", args: ["--import", "tsx", "agent/main.ts"] },
  { name: `shipped: node ${SHIPPED_FLAGS.join(" ")} dist/agent.mjs`, args: [...SHIPPED_FLAGS, "dist/agent.mjs"] },
];

async function processFigures(yaml: string, form: { name: string; args: string[] }): Promise<void> {
  console.log(`agent process, ${form.name}:`);
  const broker = await startBenchBroker("agent");
  const kube = await startFakeKube();
  let child: ChildProcess | undefined;
  try {
    const created = await gql(
      broker.url,
      broker.adminPak,
      `mutation { createAgent(input: { name: "bench", clusterName: "bench" }) { agent { id } pak } }`,
    );
    const agentId = created.createAgent.agent.id as string;
    await gql(
      broker.url,
      broker.adminPak,
      `mutation($id: ID!) { updateAgent(input: { id: $id, status: ACTIVE }) { agent { id } } }`,
      { id: agentId },
    );
    const healthPort = await freePort();
    // node --import tsx rather than the tsx CLI, which would put a second node process in between.
    child = spawn(process.execPath, form.args, {
      stdio: ["ignore", "ignore", "inherit"],
      env: {
        ...process.env,
        BROKKR__AGENT__BROKER_URL: broker.url,
        BROKKR__AGENT__PAK: created.createAgent.pak,
        BROKKR__AGENT__KUBECONFIG_PATH: kube.kubeconfigPath,
        BROKKR__AGENT__HEALTH_PORT: String(healthPort),
        BROKKR__AGENT__LOG__LEVEL: "warn",
      },
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error("the agent process did not start");
    await until(async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).ok, "the agent to be ready");
    await sleep(SETTLE_MS);
    console.log(
      `agent process idle RSS, connected, nothing targeted (after ${SETTLE_MS / 1000} s): ${rssMb(pid).toFixed(1)} MB (target ≤ 60 MB); V8 heap used ${(await heapUsedMb(healthPort)).toFixed(1)} MB`,
    );
    console.log(`  for scale: node with only the tsx loader, idle: ${(await loaderFloorMb()).toFixed(1)} MB`);

    const gen = await gql(broker.url, broker.adminPak, `mutation { createGenerator(input: { name: "bench" }) { pak } }`);
    const stack = await gql(
      broker.url,
      gen.createGenerator.pak,
      `mutation { createStack(input: { name: "bench-500" }) { stack { id } } }`,
    );
    const stackId = stack.createStack.stack.id as string;
    await gql(
      broker.url,
      broker.adminPak,
      `mutation($a: ID!, $s: ID!) { targetStack(input: { agentId: $a, stackId: $s }) { agent { id } } }`,
      { a: agentId, s: stackId },
    );
    const committedAt = performance.now();
    const object = await gql(
      broker.url,
      gen.createGenerator.pak,
      `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) { deploymentObject { id } } }`,
      { s: stackId, y: yaml },
    );
    const objectId = object.createDeploymentObject.deploymentObject.id as string;
    await until(async () => {
      const d = await gql(
        broker.url,
        broker.adminPak,
        `query($id: ID!) { deploymentObject(id: $id) { events { edges { node { status } } } } }`,
        { id: objectId },
      );
      return d.deploymentObject.events.edges.some((e: { node: { status: string } }) => e.node.status === "SUCCESS");
    }, "the SUCCESS event");
    console.log(
      `commit → SUCCESS event through broker and agent process, ${OBJECTS} resources: ${(performance.now() - committedAt).toFixed(0)} ms`,
    );
    await sleep(SETTLE_MS);
    console.log(
      `agent process idle RSS after applying the ${OBJECTS}-resource stack (after ${SETTLE_MS / 1000} s): ${rssMb(pid).toFixed(1)} MB; V8 heap used ${(await heapUsedMb(healthPort)).toFixed(1)} MB`,
    );
  } finally {
    const running = child;
    if (running && running.exitCode === null) {
      const exited = new Promise((r) => running.once("exit", r));
      running.kill("SIGTERM");
      await exited;
    }
    await kube.stop();
    await broker.stop();
  }
}

const { yaml, counts } = stackYaml();
console.log(
  `stack: ${Object.entries(counts)
    .map(([k, n]) => `${n} ${k}`)
    .join(", ")} in ${NAMESPACES.length} namespaces; ${(yaml.length / 1024).toFixed(0)} KB of YAML`,
);
await applyFigures(yaml);
for (const form of FORMS) await processFigures(yaml, form);
