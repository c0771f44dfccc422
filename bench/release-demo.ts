// npm run demo:release — a release walked from dev to prod on one machine: a broker on embedded
// PostgreSQL, five SIMULATED clusters (the in-process fake Kubernetes API from test/fake-kube, not
// real clusters) each with a real agent, three environments in promotion order (dev: no approval;
// staging: one; prod: two, separation of duties, rolling one cluster at a time), people with
// roles, and the signed evidence verified at the end. Everything goes through the public GraphQL
// API and the CLI's own functions. With CI set it stops by itself.
import { createHash } from "node:crypto";
import { pino } from "pino";
import { createAgentRuntime as startAgent } from "../agent/app.js";
import { loadAgentConfig } from "../agent/config.js";
import { startFakeKube } from "../test/fake-kube/index.js";
import { BrokerClient } from "../src/cli/brokkr/client.js";
import { taskRows, waitForPromotion } from "../src/cli/brokkr/promotions.js";
import { type EvidenceExport, verifyExport } from "../src/evidence/verify.js";
import { gql, startBenchBroker } from "./harness.js";

const TEMPLATE = `apiVersion: v1
kind: Namespace
metadata:
  name: shop-{{ environment.name }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop-{{ environment.name }}
spec:
  replicas: {{ environment.config.replicas }}
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: {{ components.web.image }}
`;

const broker = await startBenchBroker("release_demo", { BROKKR__ROLLOUTS__INTERVAL_MS: "500" });
const admin = (query: string, variables?: Record<string, unknown>) => gql(broker.url, broker.adminPak, query, variables);
console.log(`console: ${broker.url}/   admin PAK: ${broker.adminPak}`);

const person = async (name: string, role: string) => {
  const r = await admin(`mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } pak } }`, { i: { name, role } });
  return { name, pak: r.createUser.pak as string };
};
const alice = await person("alice", "ADMIN");
const bob = await person("bob", "APPROVER");
const carol = await person("carol", "APPROVER");
console.log("people: alice (ADMIN, requests), bob and carol (APPROVER)");

const stopAgents: (() => Promise<void>)[] = [];
for (const [name, env] of [
  ["dev-1", "dev"],
  ["staging-1", "staging"],
  ["prod-1", "prod"],
  ["prod-2", "prod"],
  ["prod-3", "prod"],
]) {
  const kube = await startFakeKube();
  const made = await admin(`mutation($i: CreateAgentInput!) { createAgent(input: $i) { agent { id } pak } }`, {
    i: { name, clusterName: `${name}-cluster`, labels: [`env-${env}`] },
  });
  await admin(`mutation($id: ID!) { updateAgent(input: { id: $id, status: ACTIVE }) { agent { id } } }`, {
    id: made.createAgent.agent.id,
  });
  const config = loadAgentConfig({
    BROKKR__AGENT__BROKER_URL: broker.url,
    BROKKR__AGENT__PAK: made.createAgent.pak,
    BROKKR__AGENT__KUBECONFIG_PATH: kube.kubeconfigPath,
    BROKKR__AGENT__HEALTH_PORT: "0",
  });
  if (!config.ok) throw new Error(config.problems.join("; "));
  const agent = startAgent(config.config, { logger: pino({ level: "warn" }) });
  await agent.start();
  stopAgents.push(
    () => agent.stop(),
    () => kube.stop(),
  );
}
console.log("agents: dev-1, staging-1, prod-1..3, each on its own simulated cluster");

const template = await admin(
  `mutation($i: CreateStackTemplateInput!) { createStackTemplate(input: $i) { stackTemplate { id } } }`,
  { i: { name: "shop-web", templateContent: TEMPLATE, parametersSchema: "{}" } },
);
const environments: Record<string, string> = {};
for (const [name, orderIndex, requiredApprovals, extra] of [
  ["dev", 0, 0, {}],
  ["staging", 1, 1, {}],
  ["prod", 2, 2, { rolloutStrategy: "ROLLING", batchSize: 1, requireSeparationOfDuties: true }],
] as const) {
  const r = await admin(`mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { environment { id } } }`, {
    i: {
      name,
      orderIndex,
      requiredApprovals,
      agentSelector: { labels: [`env-${name}`] },
      config: { replicas: orderIndex + 1 },
      ...extra,
    },
  });
  environments[name] = r.createEnvironment.environment.id;
}
console.log("environments: dev (no approval) -> staging (1 approval) -> prod (2 approvals, SoD, rolling by 1)");

const component = await admin(
  `mutation { createComponent(input: { name: "web", imageRepository: "registry.example.com/shop/web" }) { component { id } } }`,
);
const digest = `sha256:${createHash("sha256").update("shop-web 1.4.0").digest("hex")}`;
await admin(`mutation($i: RegisterComponentVersionInput!) { registerComponentVersion(input: $i) { created } }`, {
  i: { componentId: component.createComponent.component.id, tag: "1.4.0", digest, semver: "1.4.0" },
});
const release = await admin(`mutation($i: CreateReleaseInput!) { createRelease(input: $i) { release { id name } } }`, {
  i: {
    name: "shop-2026.12",
    templateId: template.createStackTemplate.stackTemplate.id,
    components: [{ componentId: component.createComponent.component.id, tag: "1.4.0" }],
    ready: true,
  },
});
const releaseId = release.createRelease.release.id;
console.log(`release shop-2026.12: web@${digest.slice(0, 19)}… READY`);

const as = (who: { pak: string }) => new BrokerClient({ url: broker.url, pak: who.pak });
const request = async (env: string) => {
  const r = await gql(
    broker.url,
    alice.pak,
    `mutation($i: RequestPromotionInput!) { requestPromotion(input: $i) { promotion { id status } } }`,
    {
      i: { releaseId, environmentId: environments[env] },
    },
  );
  return r.requestPromotion.promotion as { id: string; status: string };
};
const approve = (who: { pak: string }, promotionId: string) =>
  gql(broker.url, who.pak, `mutation($i: ApprovePromotionInput!) { approvePromotion(input: $i) { promotion { status } } }`, {
    i: { promotionId, comment: "looks good" },
  });
const deployed = async (env: string, promotionId: string) => {
  const { promotion, timedOut } = await waitForPromotion(as(alice), promotionId, 60_000);
  console.log(`${env}: ${promotion.status}${timedOut ? " (timed out)" : ""}`);
  for (const t of taskRows(promotion)) console.log(`  batch ${t.batch}  ${t.agent}  ${t.status}`);
  return promotion;
};

const dev = await request("dev");
console.log(`dev: requested by alice -> ${dev.status}`);
await deployed("dev", dev.id);

const staging = await request("staging");
console.log(`staging: requested by alice -> ${staging.status}`);
await approve(bob, staging.id);
await deployed("staging", staging.id);

const prod = await request("prod");
console.log(`prod: requested by alice -> ${prod.status}`);
const own = await approve(alice, prod.id).then(
  () => "accepted (wrong!)",
  (err: Error) => `refused (${/"code":"(\w+)"/.exec(err.message)?.[1] ?? err.message})`,
);
console.log(`prod: alice approving her own request is ${own}`);
await approve(bob, prod.id);
await approve(carol, prod.id);
const final = await deployed("prod", prod.id);

// The evidence as an auditor gets it: one export, verified offline against the published keys;
// then the same export with one result changed, which the check must name.
const exported = (await admin(`query($id: ID!) { promotionEvidenceExport(promotionId: $id) }`, { id: final.id }))
  .promotionEvidenceExport as EvidenceExport;
for (const p of exported.packets) console.log(`evidence: ${p.packetType} sha256=${String(p.contentHash).slice(0, 16)}…`);
const report = verifyExport(exported);
console.log(`evidence verified offline: ${report.checked - report.failures.length} of ${report.checked} packets`);
const tampered = structuredClone(exported);
const last = tampered.packets.at(-1) as { content: Record<string, unknown> };
last.content = { ...last.content, tampered: true };
const caught = verifyExport(tampered).failures.map((f) => f.packetType);
console.log(`a tampered export is caught: ${caught.join(", ") || "NOT CAUGHT"}`);

// Each prod agent writes its sticker ConfigMap after its apply succeeded, then reports it: read
// until all three have (the report may land just after the promotion is DEPLOYED).
const readStickers = () =>
  admin(`query($e: ID) { versionStickers(environmentId: $e) { agent { name } release { name } contentHash driftDetected } }`, {
    e: environments.prod,
  });
let stickers = await readStickers();
for (let tries = 0; stickers.versionStickers.length < 3 && tries < 50; tries++) {
  await new Promise((resolve) => setTimeout(resolve, 200));
  stickers = await readStickers();
}
for (const s of stickers.versionStickers)
  console.log(`version sticker on ${s.agent.name}: ${s.release.name} ${s.contentHash.slice(0, 12)}… drift ${s.driftDetected}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log("stopping");
  for (const step of [...stopAgents, () => broker.stop()]) {
    await step().catch((err: unknown) => console.log(err instanceof Error ? err.message.split("\n")[0] : String(err)));
  }
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
if (process.env.CI) await stop();
else console.log("running; press Ctrl-C to stop");
