// npm run screenshots — seeds a small demo fleet on a fresh broker (embedded PostgreSQL unless
// BROKKR__DATABASE__URL is set), opens the console in Debian's Chromium (playwright-core) and saves
// the main pages under docs/screenshots/. CONSOLE_AGENTS=10000 also adds that many agents by SQL and
// prints how long the fleet page takes to load them all and how many rows the DOM holds.
import fs from "node:fs";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { launchBrowser } from "../test/browser.js";
import { type BenchBroker, gql, startBenchBroker } from "./harness.js";
import { seedFeatures, shootFeatures } from "./screenshots-features.js";

const OUT = new URL("../docs/screenshots/", import.meta.url);
const yaml = (replicas: number, image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: ${replicas}
  template:
    spec:
      containers:
        - name: web
          image: ${image}
`;

async function seed(broker: BenchBroker) {
  const q = (query: string, variables: Record<string, unknown> = {}, pak = broker.adminPak) =>
    gql(broker.url, pak, query, variables);
  const gen = (await q(`mutation { createGenerator(input: { name: "platform-ci" }) { generator { id } pak } }`)).createGenerator;
  const stack = async (name: string, labels: string[]) =>
    (
      await q(
        `mutation($n: String!, $l: [String!]) { createStack(input: { name: $n, labels: $l }) { stack { id } } }`,
        { n: name, l: labels },
        gen.pak,
      )
    ).createStack.stack.id as string;
  const push = async (s: string, y: string) =>
    (
      await q(
        `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) { deploymentObject { id } } }`,
        { s, y },
        gen.pak,
      )
    ).createDeploymentObject.deploymentObject.id as string;
  const web = await stack("web", ["prod"]);
  const monitoring = await stack("monitoring", ["prod", "edge"]);
  await stack("ingress", ["edge"]);
  await push(web, yaml(2, "shop/web:1.4.0"));
  const webLatest = await push(web, yaml(3, "shop/web:1.5.0"));
  const monLatest = await push(
    monitoring,
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prometheus\ndata:\n  scrape: 30s\n",
  );
  const agents: { id: string; pak: string; name: string }[] = [];
  for (let i = 0; i < 12; i++) {
    const name = `${["eu", "us", "ap"][i % 3]}-cluster-${String(i + 1).padStart(2, "0")}`;
    const a = (
      await q(
        `mutation($n: String!, $c: String!, $l: [String!]) { createAgent(input: { name: $n, clusterName: $c, labels: $l }) { agent { id } pak } }`,
        {
          n: name,
          c: `k8s-${name}`,
          l: i % 4 === 0 ? ["edge"] : ["prod"],
        },
      )
    ).createAgent;
    agents.push({ id: a.agent.id, pak: a.pak, name });
    await q(`mutation($g: ID!, $a: ID!) { registerAgent(input: { agentId: $a, generatorId: $g }) { agent { id } } }`, {
      a: a.agent.id,
      g: gen.generator.id,
    });
    if (i < 10)
      await q(`mutation($a: ID!) { updateAgent(input: { id: $a, status: ACTIVE }) { agent { id } } }`, { a: a.agent.id });
  }
  return { gen, web, agents, webLatest, monLatest, q };
}

/** Holds agentDeployments for the first agents (WEBSOCKET), heartbeats for others (REST), reports events. */
async function animate(broker: BenchBroker, s: Awaited<ReturnType<typeof seed>>) {
  const sockets = s.agents.slice(0, 6).map((a) => {
    const client = createClient({
      url: `${broker.url.replace(/^http/, "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${a.pak}` },
    });
    client.subscribe(
      { query: `subscription { agentDeployments { type } }` },
      { next: () => {}, error: () => {}, complete: () => {} },
    );
    return client;
  });
  for (const [i, a] of s.agents.slice(0, 8).entries()) {
    await s.q(
      `mutation($l: Int) { heartbeat(input: { k8sReachable: true, k8sApiLatencyMs: $l }) { agent { id } } }`,
      { l: 8 + i },
      a.pak,
    );
    await s.q(
      `mutation($o: ID!) { reportAgentEvent(input: { deploymentObjectId: $o, status: SUCCESS }) { event { id } } }`,
      { o: s.monLatest },
      a.pak,
    );
    const status = i === 2 ? "FAILURE" : "SUCCESS";
    const message = i === 2 ? 'Deployment.apps "web" is invalid: spec.template.spec.containers[0].image: Required value' : null;
    if (i % 4 !== 0)
      await s.q(
        `mutation($o: ID!, $s: AgentEventStatus!, $m: String) { reportAgentEvent(input: { deploymentObjectId: $o, status: $s, message: $m }) { event { id } } }`,
        { o: s.webLatest, s: status, m: message },
        a.pak,
      );
  }
  return () => Promise.all(sockets.map((c) => c.dispose()));
}

async function addAgentsBySql(broker: BenchBroker, n: number) {
  const pg = (await import("pg")).default;
  const c = new pg.Client({ connectionString: broker.databaseUrl });
  await c.connect();
  await c.query(
    `INSERT INTO agents (name, cluster_name, status) SELECT 'fleet-' || lpad(g::text, 5, '0'), 'k8s-' || (g % 200), 'ACTIVE' FROM generate_series(1, $1) g`,
    [n],
  );
  await c.end();
}

const broker = await startBenchBroker("screenshots");
const browser = await launchBrowser();
try {
  const seeded = await seed(broker);
  const stopSockets = await animate(broker, seeded);
  await seedFeatures(seeded);
  fs.mkdirSync(OUT, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${broker.url}/`);
  await page.getByLabel("PAK").fill(broker.adminPak);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: /Overview/ }).waitFor();
  await page.getByLabel("loading the fleet").waitFor({ state: "detached" });
  const shot = async (name: string, fullPage = false) => {
    await page.waitForTimeout(400); // let the last render settle before the picture
    await page.screenshot({ path: new URL(`${name}.png`, OUT).pathname, fullPage });
    console.log(`docs/screenshots/${name}.png`);
  };
  await shot("overview");
  await page.getByRole("link", { name: "Fleet" }).click();
  await page.locator("tr[data-agent-id]").first().waitFor();
  await shot("fleet");
  await page.getByRole("link", { name: "Stacks" }).click();
  await page.getByRole("link", { name: "web", exact: true }).click();
  await page.getByLabel("Differences between the two versions").waitFor();
  await shot("stack", true);
  // The agent whose apply failed (see animate).
  const failed = seeded.agents[2]?.name ?? "";
  await page.getByRole("link", { name: failed }).first().click();
  await page.getByRole("table", { name: "Events" }).waitFor();
  await shot("agent");
  await shootFeatures(page, shot);
  const many = Number(process.env.CONSOLE_AGENTS ?? 0);
  if (many > 0) {
    await addAgentsBySql(broker, many);
    // A new page load (not only a hash change), so the console reads the whole fleet again.
    await page.goto("about:blank");
    const started = Date.now();
    await page.goto(`${broker.url}/#/fleet`);
    await page.getByText(`${many + seeded.agents.length} of ${many + seeded.agents.length} agents`).waitFor({ timeout: 120_000 });
    const ms = Date.now() - started;
    const rows = await page.locator("tr[data-agent-id]").count();
    console.log(`fleet page: ${many + seeded.agents.length} agents loaded in ${ms} ms (500 a page), ${rows} rows in the DOM`);
  }
  await stopSockets();
} finally {
  await browser.close();
  await broker.stop();
}
