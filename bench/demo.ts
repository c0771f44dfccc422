// npm run demo — the whole loop in one command: a broker on embedded PostgreSQL, a SIMULATED
// Kubernetes cluster (the in-process fake API from test/fake-kube, not a real cluster), and one
// agent applying a sample stack. Ctrl-C stops everything.
import { pino } from "pino";
import { createAgentRuntime as startAgent } from "../agent/app.js";
import { loadAgentConfig } from "../agent/config.js";
import { startFakeKube } from "../test/fake-kube/index.js";
import { BrokerClient } from "../src/cli/brokkr/client.js";
import { resolveTarget, waitForRollout } from "../src/cli/brokkr/wait.js";
import { gql, startBenchBroker } from "./harness.js";

const SAMPLE = `apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: greeting
  namespace: demo
data:
  message: hello from brokkr
`;

const broker = await startBenchBroker("demo");
console.log(`console: ${broker.url}/   GraphQL: ${broker.url}/graphql   admin PAK: ${broker.adminPak}`);
const kube = await startFakeKube();
console.log(`simulated Kubernetes cluster (fake API, not a real cluster): ${kube.url}`);
const gen = await gql(
  broker.url,
  broker.adminPak,
  `mutation { createGenerator(input: { name: "demo-ci" }) { generator { id } pak } }`,
);
const agentRow = await gql(
  broker.url,
  broker.adminPak,
  `mutation { createAgent(input: { name: "demo-agent", clusterName: "simulated" }) { agent { id } pak } }`,
);
const agentId = agentRow.createAgent.agent.id;
await gql(
  broker.url,
  broker.adminPak,
  `mutation($id: ID!) { updateAgent(input: { id: $id, status: ACTIVE }) { agent { id } } }`,
  { id: agentId },
);
const stack = await gql(
  broker.url,
  gen.createGenerator.pak,
  `mutation { createStack(input: { name: "demo-stack" }) { stack { id } } }`,
);
const stackId = stack.createStack.stack.id;
await gql(
  broker.url,
  broker.adminPak,
  `mutation($a: ID!, $s: ID!) { targetStack(input: { agentId: $a, stackId: $s }) { agent { id } } }`,
  { a: agentId, s: stackId },
);
const config = loadAgentConfig({
  BROKKR__AGENT__BROKER_URL: broker.url,
  BROKKR__AGENT__PAK: agentRow.createAgent.pak,
  BROKKR__AGENT__KUBECONFIG_PATH: kube.kubeconfigPath,
  BROKKR__AGENT__HEALTH_PORT: "0",
});
if (!config.ok) throw new Error(config.problems.join("; "));
const agent = startAgent(config.config, { logger: pino({ level: "warn" }) });
await agent.start();
console.log(`agent connected; health at http://127.0.0.1:${agent.healthPort()}/health`);
const created = await gql(
  broker.url,
  gen.createGenerator.pak,
  `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) { deploymentObject { id sequenceId } } }`,
  { s: stackId, y: SAMPLE },
);
const object = created.createDeploymentObject.deploymentObject;
console.log(`generator pushed deployment object #${object.sequenceId}`);
// The rollout gate of `npx brokkr wait`: it subscribes to agent events, then reads, so the
// agent's report is printed whether it lands before or after this line runs.
const cli = new BrokerClient({ url: broker.url, pak: broker.adminPak });
const rollout = await waitForRollout(cli, await resolveTarget(cli, object.id), { timeoutMs: 30_000 });
const cm = kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "demo", name: "greeting" });
console.log(`simulated cluster now holds ConfigMap demo/greeting: ${JSON.stringify(cm?.data ?? null)}`);
console.log(`labels: ${JSON.stringify(cm?.metadata?.labels ?? null)}`);
const reports = rollout.rollout
  .verdicts()
  .map((v) => ({ agent: v.name, result: v.result, sequenceId: v.sequenceId, message: v.message }));
console.log(`agent reported: ${JSON.stringify(reports)}`);

let stopping = false;
const stop = async () => {
  // Ctrl-C reaches the embedded PostgreSQL too (same process group), so the database may be
  // going away while we stop: each step is best effort, and the demo ends with one line.
  if (stopping) return;
  stopping = true;
  console.log("stopping");
  for (const [name, step] of [
    ["agent", () => agent.stop()],
    ["simulated cluster", () => kube.stop()],
    ["broker", () => broker.stop()],
  ] as const) {
    await step().catch((err: unknown) =>
      console.log(`${name}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`),
    );
  }
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
if (process.env.CI) await stop();
else console.log("running; press Ctrl-C to stop");
