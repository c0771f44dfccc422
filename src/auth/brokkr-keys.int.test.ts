import { createHash } from "node:crypto";
import bs58 from "bs58";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { wsClient } from "../../test/subscriptions.js";

// Keys as Brokkr issues them: its public dev admin PAK, and keys of its shape for a generator
// and an agent, stored by hash only, as an import from Brokkr leaves them.
const BROKKR_DEV_PAK = "brokkr_BR3rVsDa_GK3QN7CDUzYc6iKgMkJ98M2WSimM5t6U8";
const brokkrShapedPak = (seed: number) =>
  `brokkr_BR${bs58.encode(Buffer.alloc(8, seed)).slice(0, 6)}_${bs58.encode(Buffer.alloc(24, seed))}`;
const GENERATOR_PAK = brokkrShapedPak(7);
const AGENT_PAK = brokkrShapedPak(9);
const hashOf = (pak: string) => createHash("sha256").update(pak.split("_")[2]!).digest("hex");

let broker: TestBroker;
let generatorId: string;
let agentId: string;

async function me(authorization: string) {
  const res = await fetch(`${broker.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization },
    body: JSON.stringify({ query: "{ me { role id } }" }),
  });
  return ((await res.json()) as { data?: { me: { role: string; id: string | null } } }).data?.me;
}

async function restIdentity(authorization: string) {
  const res = await fetch(`${broker.url}/api/v1/auth/pak`, { method: "POST", headers: { authorization } });
  return { status: res.status, body: res.status === 200 ? await res.json() : null };
}

async function wsMe(pak: string) {
  const client = wsClient(broker.url, pak);
  try {
    return await new Promise<unknown>((resolve, reject) => {
      client.subscribe({ query: "{ me { role id } }" }, { next: (r) => resolve(r.data), error: reject, complete: () => {} });
    });
  } finally {
    await client.dispose();
  }
}

beforeAll(async () => {
  broker = await startTestBroker({ BROKKR__BROKER__PAK_HASH: hashOf(BROKKR_DEV_PAK) });
  const created = await broker.gql<{ createGenerator: { generator: { id: string } }; createAgent: { agent: { id: string } } }>(
    `mutation { createGenerator(input: { name: "ci" }) { generator { id } }
                createAgent(input: { name: "a1", clusterName: "c1" }) { agent { id } } }`,
    {},
    BROKKR_DEV_PAK,
  );
  generatorId = created.data!.createGenerator.generator.id;
  agentId = created.data!.createAgent.agent.id;
  await broker.db.sql.query("UPDATE generators SET pak_hash = $1 WHERE id = $2", [hashOf(GENERATOR_PAK), generatorId]);
  await broker.db.sql.query("UPDATE agents SET pak_hash = $1, status = 'ACTIVE' WHERE id = $2", [hashOf(AGENT_PAK), agentId]);
});

describe("keys in Brokkr's shape", () => {
  it("accepts Brokkr's dev admin PAK given by hash, raw and as Bearer, over GraphQL HTTP", async () => {
    expect(await me(BROKKR_DEV_PAK)).toEqual({ role: "ADMIN", id: null });
    expect(await me(`Bearer ${BROKKR_DEV_PAK}`)).toEqual({ role: "ADMIN", id: null });
    expect(await me(`bearer ${BROKKR_DEV_PAK}`)).toEqual({ role: "ADMIN", id: null });
  });

  it("answers Brokkr's POST /api/v1/auth/pak for the dev admin, generator and agent keys sent raw", async () => {
    expect(await restIdentity(BROKKR_DEV_PAK)).toEqual({
      status: 200,
      body: { admin: true, agent: null, generator: null, readonly: false },
    });
    expect(await restIdentity(GENERATOR_PAK)).toEqual({
      status: 200,
      body: { admin: false, agent: null, generator: generatorId, readonly: false },
    });
    expect(await restIdentity(AGENT_PAK)).toEqual({
      status: 200,
      body: { admin: false, agent: agentId, generator: null, readonly: false },
    });
  });

  it("resolves generator and agent keys stored by hash over GraphQL HTTP and websockets", async () => {
    expect(await me(GENERATOR_PAK)).toEqual({ role: "GENERATOR", id: generatorId });
    expect(await me(AGENT_PAK)).toEqual({ role: "AGENT", id: agentId });
    expect(await wsMe(BROKKR_DEV_PAK)).toEqual({ me: { role: "ADMIN", id: null } });
    expect(await wsMe(GENERATOR_PAK)).toEqual({ me: { role: "GENERATOR", id: generatorId } });
    expect(await wsMe(AGENT_PAK)).toEqual({ me: { role: "AGENT", id: agentId } });
  });

  it("serves an agent's REST target state with its Brokkr-shaped key", async () => {
    const res = await fetch(`${broker.url}/api/v1/agents/${agentId}/target-state`, { headers: { authorization: AGENT_PAK } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
  });

  it("refuses a Brokkr-shaped key that was never issued, and one with its long token altered", async () => {
    const altered = `${AGENT_PAK.slice(0, -1)}${AGENT_PAK.endsWith("z") ? "y" : "z"}`;
    for (const pak of [brokkrShapedPak(11), altered]) {
      expect((await restIdentity(pak)).status).toBe(401);
      expect(await me(pak)).toBeUndefined();
    }
  });
});
