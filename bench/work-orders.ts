// npm run bench:work-orders — prints push latency of a new work order to subscribed agents, how a
// claim race ends, and create→claim→complete cycles per second beside the same cycle in plain SQL.
// A script that prints figures, never a test.
import { createClient } from "graphql-ws";
import pg from "pg";
import WebSocket from "ws";
import { gql, percentile, startBenchBroker } from "./harness.js";

const AGENTS = Number(process.env.BENCH_WO_AGENTS ?? 100);
const ROUNDS = 20;
const CYCLES = 200;
const YAML = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bench\n";

type Agent = { id: string; pak: string };
type Broker = Awaited<ReturnType<typeof startBenchBroker>>;

async function main() {
  const broker = await startBenchBroker("work_orders");
  const agents = await makeAgents(broker);
  await pushAndRace(broker, agents);
  await cycles(broker, agents[0] as Agent);
  await broker.stop();
}

async function makeAgents({ url, adminPak }: Broker): Promise<Agent[]> {
  const agents: Agent[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const made = await gql(
      url,
      adminPak,
      `mutation($n: String!) { createAgent(input: { name: $n, clusterName: "c", labels: ["bench"] }) { agent { id } pak } }`,
      { n: `wo-${i}` },
    );
    const id = made.createAgent.agent.id as string;
    await gql(url, adminPak, `mutation($a: ID!) { updateAgent(input: { id: $a, status: ACTIVE }) { agent { id } } }`, { a: id });
    agents.push({ id, pak: made.createAgent.pak });
  }
  return agents;
}

/** Push: every agent subscribed; one label-targeted order reaches all of them, then they race to claim it. */
async function pushAndRace(broker: Broker, agents: Agent[]): Promise<void> {
  const { url, adminPak } = broker;
  const { seen, clients } = subscribeAll(url, agents);
  while (agents.some((a) => broker.app.workOrders.subscriberCount(a.id) === 0)) await new Promise((r) => setTimeout(r, 20));
  const latencies: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const sent = performance.now();
    const made = await gql(
      url,
      adminPak,
      `mutation($y: String!) { createWorkOrder(input: { workType: "apply", yamlContent: $y, targeting: { labels: ["bench"] } }) { workOrder { id } } }`,
      { y: YAML },
    );
    const id = made.createWorkOrder.workOrder.id as string;
    while ((seen.get(id)?.length ?? 0) < AGENTS) await new Promise((r) => setTimeout(r, 2));
    latencies.push(...(seen.get(id) ?? []).map((t) => t - sent));
    // The claim race: every agent at once.
    const results = await Promise.all(
      agents.map((a) =>
        fetch(`${url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: a.pak },
          body: JSON.stringify({
            query: "mutation($id: ID!) { claimWorkOrder(input: { id: $id }) { workOrder { id } } }",
            variables: { id },
          }),
        }).then((r) => r.json() as Promise<{ errors?: unknown }>),
      ),
    );
    const winners = results.filter((r) => !r.errors).length;
    if (winners !== 1) throw new Error(`claim race round ${round}: ${winners} winners`);
  }
  console.log(
    `push, createWorkOrder sent → agentWorkOrders event at each of ${AGENTS} agents (${ROUNDS} orders): p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
  );
  console.log(`claim race, ${AGENTS} agents at once, ${ROUNDS} rounds: exactly 1 winner every round`);
  for (const c of clients) await c.dispose();
}

/** One agentWorkOrders subscription per agent; `seen` records when each order reached each of them. */
function subscribeAll(url: string, agents: Agent[]) {
  const seen = new Map<string, number[]>();
  const clients = agents.map((a) => {
    const client = createClient({
      url: `${url.replace(/^http/, "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${a.pak}` },
    });
    client.subscribe<{ agentWorkOrders: { reason: string; workOrder: { id: string } } }>(
      { query: "subscription { agentWorkOrders { reason workOrder { id } } }" },
      {
        next: (r) => {
          const id = r.data?.agentWorkOrders.workOrder.id;
          if (id) (seen.get(id) ?? seen.set(id, []).get(id))?.push(performance.now());
        },
        error: () => {},
        complete: () => {},
      },
    );
    return client;
  });
  return { seen, clients };
}

/** Whole cycles through the API (GraphQL over HTTP, one agent), beside plain SQL doing the same writes. */
async function cycles(broker: Broker, agent: Agent): Promise<void> {
  const { url, adminPak } = broker;
  const started = performance.now();
  for (let i = 0; i < CYCLES; i++) {
    const made = await gql(
      url,
      adminPak,
      `mutation($a: ID!, $y: String!) { createWorkOrder(input: { workType: "apply", yamlContent: $y, targeting: { agentIds: [$a] } }) { workOrder { id } } }`,
      { a: agent.id, y: YAML },
    );
    const id = made.createWorkOrder.workOrder.id;
    await gql(url, agent.pak, "mutation($id: ID!) { claimWorkOrder(input: { id: $id }) { workOrder { id } } }", { id });
    await gql(url, agent.pak, "mutation($id: ID!) { completeWorkOrder(input: { id: $id, success: true }) { outcome } }", { id });
  }
  const apiRate = CYCLES / ((performance.now() - started) / 1000);
  const sqlRate = await plainSqlCycles(broker.databaseUrl, agent.id);
  console.log(
    `create→claim→complete, sequential: ${apiRate.toFixed(0)} cycles/s through GraphQL vs ${sqlRate.toFixed(0)}/s plain SQL (ratio ${(apiRate / sqlRate).toFixed(2)})`,
  );
}

async function plainSqlCycles(databaseUrl: string, agentId: string): Promise<number> {
  const sql = new pg.Client({ connectionString: databaseUrl });
  await sql.connect();
  const started = performance.now();
  for (let i = 0; i < CYCLES; i++) {
    const { rows } = await sql.query("INSERT INTO work_orders (work_type, yaml_content) VALUES ('apply', $1) RETURNING id", [
      YAML,
    ]);
    const id = rows[0].id;
    await sql.query("INSERT INTO work_order_targets (work_order_id, agent_id) VALUES ($1, $2)", [id, agentId]);
    await sql.query(
      "UPDATE work_orders SET status = 'CLAIMED', claimed_by = $2, claimed_at = now() WHERE id = $1 AND status = 'PENDING'",
      [id, agentId],
    );
    await sql.query("BEGIN");
    await sql.query(
      "INSERT INTO work_order_log (id, work_type, created_at, claimed_at, claimed_by, success, yaml_content) SELECT id, work_type, created_at, claimed_at, claimed_by, true, yaml_content FROM work_orders WHERE id = $1",
      [id],
    );
    await sql.query("DELETE FROM work_orders WHERE id = $1", [id]);
    await sql.query("COMMIT");
  }
  const rate = CYCLES / ((performance.now() - started) / 1000);
  await sql.end();
  return rate;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
