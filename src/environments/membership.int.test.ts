import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { countBrokerStatements } from "../../test/count-statements.js";
import { createAgent, unique } from "../../test/factories.js";
import { createEnvironment, insertPromotionRow, readyRelease, updateEnvironmentRaw } from "../../test/releases.js";
import { listEnvironmentAgents, MAX_ENVIRONMENT_AGENTS } from "./service.js";

let broker: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker();
});

const MEMBERS = `query($id: ID!) { environment(id: $id) { explicitMembers { id } agents { id name } } }`;
const members = async (id: string) => {
  const env = ok(
    await broker.gql<{ environment: { explicitMembers: { id: string }[]; agents: { id: string }[] } }>(MEMBERS, { id }),
  ).environment;
  return { explicit: env.explicitMembers.map((a) => a.id).sort(), agents: env.agents.map((a) => a.id).sort() };
};
const sorted = (...ids: string[]) => [...ids].sort();

describe("environment membership", () => {
  it("is the explicit members and every live agent carrying all the selector's labels and annotation pairs", async () => {
    const [tier, region] = [unique("tier"), unique("region")];
    const both = await createAgent(broker, { labels: [tier, "x"], annotations: [{ key: region, value: "eu" }] });
    const labelOnly = await createAgent(broker, { labels: [tier] });
    const otherValue = await createAgent(broker, { labels: [tier], annotations: [{ key: region, value: "us" }] });
    const explicit = await createAgent(broker);
    const env = await createEnvironment(broker, {
      agentSelector: { labels: [tier], annotations: [{ key: region, value: "eu" }] },
      explicitMemberIds: [explicit.id],
    });
    expect(await members(env.id)).toEqual({ explicit: [explicit.id], agents: sorted(both.id, explicit.id) });
    // Labels alone select every agent with all of them.
    ok(await updateEnvironmentRaw(broker, { id: env.id, agentSelector: { labels: [tier] } }));
    expect((await members(env.id)).agents).toEqual(sorted(both.id, labelOnly.id, otherValue.id, explicit.id));
    // Annotations alone likewise.
    ok(await updateEnvironmentRaw(broker, { id: env.id, agentSelector: { annotations: [{ key: region, value: "us" }] } }));
    expect((await members(env.id)).agents).toEqual(sorted(otherValue.id, explicit.id));
    // Two labels: both must be on the agent.
    ok(await updateEnvironmentRaw(broker, { id: env.id, agentSelector: { labels: [tier, "x"] } }));
    expect((await members(env.id)).agents).toEqual(sorted(both.id, explicit.id));
  });

  it("selects nobody by an empty selector, and drops deleted agents", async () => {
    const label = unique("lbl");
    const [a, b] = [await createAgent(broker, { labels: [label] }), await createAgent(broker, { labels: [label] })];
    const env = await createEnvironment(broker, { explicitMemberIds: [a.id] });
    expect(await members(env.id)).toEqual({ explicit: [a.id], agents: [a.id] });
    ok(await updateEnvironmentRaw(broker, { id: env.id, agentSelector: { labels: [label] } }));
    expect((await members(env.id)).agents).toEqual(sorted(a.id, b.id));
    ok(await broker.gql(`mutation($id: ID!) { deleteAgent(input: { id: $id }) { deletedId } }`, { id: a.id }));
    expect(await members(env.id)).toEqual({ explicit: [], agents: [b.id] });
  });

  it("replaces the explicit members on update, and refuses unknown or deleted agents naming the field", async () => {
    const [a, b] = [await createAgent(broker), await createAgent(broker)];
    const env = await createEnvironment(broker, { explicitMemberIds: [a.id] });
    ok(await updateEnvironmentRaw(broker, { id: env.id, explicitMemberIds: [b.id, b.id] }));
    expect((await members(env.id)).explicit).toEqual([b.id]);
    ok(await updateEnvironmentRaw(broker, { id: env.id, requiredApprovals: 1 }));
    expect((await members(env.id)).explicit).toEqual([b.id]);
    ok(await broker.gql(`mutation($id: ID!) { deleteAgent(input: { id: $id }) { deletedId } }`, { id: a.id }));
    const res = await updateEnvironmentRaw(broker, { id: env.id, explicitMemberIds: [a.id] });
    expect([errorCode(res), res.errors?.[0]?.extensions?.field]).toEqual(["BAD_USER_INPUT", "explicitMemberIds"]);
    expect((await members(env.id)).explicit).toEqual([b.id]);
  });

  it("is what listEnvironmentAgents answers the rollout runner, by agent name", async () => {
    const label = unique("lbl");
    const agents = [
      await createAgent(broker, { name: `${label}-b`, labels: [label] }),
      await createAgent(broker, { name: `${label}-a` }),
    ];
    const env = await createEnvironment(broker, { agentSelector: { labels: [label] }, explicitMemberIds: [agents[1]?.id] });
    const rows = await listEnvironmentAgents(broker.app.database.prisma, env.id);
    expect(rows.map((r) => r.name)).toEqual([`${label}-a`, `${label}-b`]);
    expect(rows.map((r) => r.id).sort()).toEqual((await members(env.id)).agents);
    expect(await listEnvironmentAgents(broker.app.database.prisma, "00000000-0000-4000-8000-000000000000")).toEqual([]);
  });

  it("resolves the members of a page of environments in a constant number of statements", async () => {
    const label = unique("lbl");
    const agent = await createAgent(broker, { labels: [label] });
    const envs = [await createEnvironment(broker, { agentSelector: { labels: [label] } }), await createEnvironment(broker)];
    for (let i = 0; i < 4; i++) await createEnvironment(broker, { explicitMemberIds: [agent.id] });
    const page = (n: number) =>
      countBrokerStatements(() =>
        broker.gql<{ environments: { edges: { node: { id: string; agents: { id: string }[] } }[] } }>(
          `query($n: Int) { environments(first: $n) { edges { node { id agents { id } explicitMembers { id } currentRelease { id } } } } }`,
          { n },
        ),
      );
    const [two, six] = [await page(2), await page(6)];
    expect(six.statements).toBe(two.statements);
    const all = ok(await page(500).then((p) => p.result)).environments.edges;
    const byId = new Map(all.map((e) => [e.node.id, e.node.agents.map((a) => a.id)]));
    expect(byId.get(envs[0]?.id ?? "")).toEqual([agent.id]);
    expect(byId.get(envs[1]?.id ?? "")).toEqual([]);
  });
});

describe("an oversized environment", () => {
  it("is refused rather than cut short, so a rollout never skips agents silently", async () => {
    const label = unique("many");
    await broker.db.sql.query(
      `WITH a AS (INSERT INTO agents (name, cluster_name) SELECT $1 || '-' || g, 'c' FROM generate_series(1, $2::int) g RETURNING id)
       INSERT INTO agent_labels (agent_id, label) SELECT id, $1 FROM a`,
      [label, MAX_ENVIRONMENT_AGENTS + 1],
    );
    const env = await createEnvironment(broker, { agentSelector: { labels: [label] } });
    expect(errorCode(await broker.gql(MEMBERS, { id: env.id }))).toBe("UNPROCESSABLE_ENTITY");
    await expect(listEnvironmentAgents(broker.app.database.prisma, env.id)).rejects.toThrow(/more than 10000 agents/);
    await broker.db.sql.query(`DELETE FROM agents WHERE id = (SELECT agent_id FROM agent_labels WHERE label = $1 LIMIT 1)`, [
      label,
    ]);
    expect(await listEnvironmentAgents(broker.app.database.prisma, env.id)).toHaveLength(MAX_ENVIRONMENT_AGENTS);
  });
});

describe("the current release of an environment", () => {
  it("is the release of its newest DEPLOYED promotion, which the release lists as deployedTo", async () => {
    const env = await createEnvironment(broker);
    const other = await createEnvironment(broker);
    const [first, second] = [(await readyRelease(broker)).release, (await readyRelease(broker)).release];
    const QUERY = `query($e: ID!, $r1: ID!, $r2: ID!) {
      environment(id: $e) { currentRelease { id name } }
      r1: release(id: $r1) { deployedTo { id } }
      r2: release(id: $r2) { deployedTo { id } } }`;
    const read = async () => ok(await broker.gql(QUERY, { e: env.id, r1: first.id, r2: second.id }));
    expect(await read()).toEqual({ environment: { currentRelease: null }, r1: { deployedTo: [] }, r2: { deployedTo: [] } });
    await insertPromotionRow(broker, first.id, env.id, "DEPLOYED", new Date("2026-01-01T00:00:00Z"));
    await insertPromotionRow(broker, first.id, other.id, "DEPLOYED", new Date("2026-01-01T00:00:00Z"));
    const later = await insertPromotionRow(broker, second.id, env.id, "DEPLOYED", new Date("2026-01-02T00:00:00Z"));
    // Promotions that did not deploy do not count.
    await insertPromotionRow(broker, first.id, env.id, "FAILED", new Date("2026-01-03T00:00:00Z"));
    expect(await read()).toEqual({
      environment: { currentRelease: { id: second.id, name: second.name } },
      r1: { deployedTo: [{ id: other.id }] },
      r2: { deployedTo: [{ id: env.id }] },
    });
    // Rolled back: the one before is current again.
    await broker.db.sql.query(`UPDATE promotions SET status = 'ROLLED_BACK' WHERE id = $1`, [later]);
    expect((await read()).environment.currentRelease.id).toBe(first.id);
  });
});
