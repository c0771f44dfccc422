import { describe, expect, it } from "vitest";
import { configFrom } from "../config.js";
import { setLogLevel } from "../logger.js";
import { startTestBroker } from "../../test/broker.js";
import { createTestDatabase } from "../../test/db.js";
import { createObject, sentinelStack, targetedAgent } from "../../test/factories.js";
import { watchLive } from "../../test/subscriptions.js";
import { provisionDatabase } from "./provision.js";

setLogLevel("silent");
// Two brokers in one database, each in its own schema (BROKKR__DATABASE__SCHEMA).
const db = await createTestDatabase();
for (const schema of ["tenant_a", "tenant_b"]) {
  await provisionDatabase(configFrom({ BROKKR__DATABASE__URL: db.url, BROKKR__DATABASE__SCHEMA: schema }));
}
const a = await startTestBroker({ BROKKR__DATABASE__SCHEMA: "tenant_a" }, db);
const b = await startTestBroker({ BROKKR__DATABASE__SCHEMA: "tenant_b" }, db);

describe("a broker in its own PostgreSQL schema", () => {
  it("creates and migrates the schema, recording its migrations there", async () => {
    const { rows } = await db.sql.query<{ schema: string; tables: string }>(
      `SELECT table_schema AS schema, count(*)::text AS tables FROM information_schema.tables
        WHERE table_schema IN ('tenant_a', 'tenant_b') AND table_name IN ('stacks', 'deployment_objects', '_prisma_migrations')
        GROUP BY table_schema ORDER BY table_schema`,
    );
    expect(rows).toEqual([
      { schema: "tenant_a", tables: "3" },
      { schema: "tenant_b", tables: "3" },
    ]);
  });

  it("keeps each broker's data to its own schema", async () => {
    const inA = await targetedAgent(a);
    const stacksOf = async (broker: typeof a) =>
      (
        await broker.gql<{ stacks: { edges: { node: { id: string } }[] } }>("{ stacks { edges { node { id } } } }")
      ).data?.stacks.edges.map((e) => e.node.id);
    expect(await stacksOf(a)).toContain(inA.stack.id);
    expect(await stacksOf(b)).not.toContain(inA.stack.id);
    const { rows } = await db.sql.query("SELECT 1 FROM tenant_b.stacks WHERE id = $1", [inA.stack.id]);
    expect(rows).toHaveLength(0);
  });

  it("delivers an object only to its own broker's agents, though both share the notification channels", async () => {
    const inA = await targetedAgent(a);
    const inB = await targetedAgent(b);
    const watchA = await watchLive(a, inA.agent);
    const watchB = await watchLive(b, inB.agent);
    const sentinel = await sentinelStack(b, inB.gen, inB.agent.id);
    const objectA = await createObject(a, inA.gen.pak, inA.stack.id);
    await watchA.until((events) => events.some((e) => e.deploymentObject?.id === objectA.id));
    const mark = await sentinel.commit();
    await watchB.until((events) => events.some((e) => e.deploymentObject?.id === mark.id));
    expect(watchB.events.map((e) => e.deploymentObject?.id)).toEqual([mark.id]);
    await Promise.all([watchA.stop(), watchB.stop()]);
  });

  it("refuses a schema name that is not a plain identifier, naming the variable", () => {
    for (const bad of ["Tenant", "a-b", 'x"; DROP TABLE stacks; --', "pg_catalog", "9lives"]) {
      expect(() => configFrom({ BROKKR__DATABASE__SCHEMA: bad }), bad).toThrow(/BROKKR__DATABASE__SCHEMA/);
    }
  });
});
