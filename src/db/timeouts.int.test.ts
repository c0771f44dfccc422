import { describe, expect, it } from "vitest";
import { createTestDatabase } from "../../test/db.js";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { createGenerator, createStack } from "../../test/factories.js";
import { startFaultPostgres } from "../../test/fault-postgres.js";

// Generous bounds that only turn a hang into a clear failure; nothing asserts how fast.
const HANG = AbortSignal.timeout.bind(AbortSignal, 20_000);

async function post(broker: TestBroker, pak: string, query: string) {
  const res = await fetch(`${broker.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${pak}` },
    body: JSON.stringify({ query }),
    signal: HANG(),
  });
  const body = (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
  return { status: res.status, code: body.errors?.[0]?.extensions?.code };
}

describe("a paused PostgreSQL", () => {
  it("makes /readyz answer 503 and requests SERVICE_UNAVAILABLE instead of hanging, and recovers on resume", async () => {
    const pg = await startFaultPostgres();
    const broker = await startTestBroker(
      {
        BROKKR__DATABASE__STATEMENT_TIMEOUT_MS: "1000",
        BROKKR__DATABASE__CONNECT_TIMEOUT_MS: "1000",
      },
      pg.db,
    );
    const gen = await createGenerator(broker);
    expect((await fetch(`${broker.url}/readyz`)).status).toBe(200);
    pg.pause();
    try {
      const ready = await fetch(`${broker.url}/readyz`, { signal: HANG() });
      expect(ready.status).toBe(503);
      // More requests than pool connections: the stalled ones are discarded, not waited on for ever.
      const answers = await Promise.all(Array.from({ length: 12 }, () => post(broker, gen.pak, "{ me { role } }")));
      for (const a of answers) expect(a).toEqual({ status: 503, code: "SERVICE_UNAVAILABLE" });
      expect((await fetch(`${broker.url}/healthz`, { signal: HANG() })).status).toBe(200);
    } finally {
      pg.resume();
    }
    await expect
      .poll(async () => (await post(broker, gen.pak, "{ me { role } }")).status, { timeout: 20_000, interval: 200 })
      .toBe(200);
    await expect.poll(async () => (await fetch(`${broker.url}/readyz`)).status, { timeout: 20_000, interval: 200 }).toBe(200);
  });
});

describe("statement_timeout", () => {
  it("cancels a statement stuck behind a lock with SERVICE_UNAVAILABLE and leaves the pool usable", async () => {
    const db = await createTestDatabase();
    const broker = await startTestBroker({ BROKKR__DATABASE__STATEMENT_TIMEOUT_MS: "300", BROKKR__DATABASE__POOL_SIZE: "2" }, db);
    const gen = await createGenerator(broker);
    await createStack(broker, gen.pak);
    const locker = await db.sql.connect();
    const stacks = "{ stacks { edges { node { id } } } }";
    try {
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE stacks IN ACCESS EXCLUSIVE MODE");
      // Three times the pool size: each cancelled statement gave its connection back.
      for (let i = 0; i < 6; i++)
        expect(await post(broker, broker.adminPak, stacks)).toEqual({ status: 503, code: "SERVICE_UNAVAILABLE" });
    } finally {
      await locker.query("ROLLBACK");
      locker.release();
    }
    for (let i = 0; i < 6; i++) expect((await post(broker, broker.adminPak, stacks)).status).toBe(200);
    expect(broker.app.database.pool.totalCount).toBeLessThanOrEqual(2);
  });
});
