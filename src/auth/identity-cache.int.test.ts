import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator } from "../../test/factories.js";
import { IdentityCache } from "./identity-cache.js";
import { parsePak } from "./pak.js";

// Two brokers on one database: each caches verified keys; a revocation on one must hold on both.
let a: TestBroker;
let b: TestBroker;
beforeAll(async () => {
  a = await startTestBroker();
  b = await startTestBroker({}, a.db);
});
afterAll(async () => {
  await b.stop();
  await a.stop();
});

const me = (broker: TestBroker, pak: string) => broker.gql<{ me: { id: string } }>(`query { me { id } }`, {}, pak);
const rotateGenerator = async (id: string) =>
  ok(
    await a.gql<{ rotateGeneratorPak: { pak: string } }>(
      `mutation($id: ID!) { rotateGeneratorPak(input: { id: $id }) { pak } }`,
      { id },
    ),
  ).rotateGeneratorPak.pak;

/** Resolves once broker `b` has forgotten the identity (it heard the notification). */
function forgottenOn(broker: TestBroker, id: string) {
  const forget = vi.spyOn(broker.app.identities.cache, "forget");
  return {
    heard: () => vi.waitFor(() => expect(forget.mock.calls.some(([, i]) => i === id)).toBe(true), { timeout: 10_000 }),
    restore: () => forget.mockRestore(),
  };
}

describe("the verified-key cache", () => {
  it("answers a known key from the cache after its first use", async () => {
    const gen = await createGenerator(b);
    const before = b.app.identities.cache.size;
    expect(ok(await me(b, gen.pak)).me.id).toBe(gen.id);
    expect(b.app.identities.cache.size).toBe(before + 1);
    expect(ok(await me(b, gen.pak)).me.id).toBe(gen.id);
    expect(b.app.identities.cache.size).toBe(before + 1);
  });

  it("refuses a rotated key at once on the broker that rotated it", async () => {
    const gen = await createGenerator(a);
    ok(await me(a, gen.pak));
    const rotated = await rotateGenerator(gen.id);
    expect(errorCode(await me(a, gen.pak))).toBe("UNAUTHENTICATED");
    expect(ok(await me(a, rotated)).me.id).toBe(gen.id);
  });

  it("refuses a revoked key on a second broker that had it cached, as soon as the notification arrives", async () => {
    const gen = await createGenerator(a);
    ok(await me(b, gen.pak));
    const watch = forgottenOn(b, gen.id);
    try {
      const rotated = await rotateGenerator(gen.id);
      await watch.heard();
      expect(errorCode(await me(b, gen.pak))).toBe("UNAUTHENTICATED");
      expect(ok(await me(b, rotated)).me.id).toBe(gen.id);
    } finally {
      watch.restore();
    }
  });

  it("refuses a deleted agent's cached key on both brokers", async () => {
    const agent = await createAgent(a, { activate: true });
    ok(await me(a, agent.pak));
    ok(await me(b, agent.pak));
    const watch = forgottenOn(b, agent.id);
    try {
      ok(await a.gql(`mutation($id: ID!) { deleteAgent(input: { id: $id }) { deletedId } }`, { id: agent.id }));
      expect(errorCode(await me(a, agent.pak))).toBe("UNAUTHENTICATED");
      await watch.heard();
      expect(errorCode(await me(b, agent.pak))).toBe("UNAUTHENTICATED");
    } finally {
      watch.restore();
    }
  });

  it("forgets every key after the listener reconnects, since notifications were lost", async () => {
    const gen = await createGenerator(b);
    ok(await me(b, gen.pak));
    expect(b.app.identities.cache.size).toBeGreaterThan(0);
    const resynced = new Promise<void>((r) => b.app.listener.once("resync", () => r()));
    b.app.listener.simulateConnectionLoss();
    await resynced;
    expect(b.app.identities.cache.size).toBe(0);
  });
});

describe("the verified-key cache's sweep", () => {
  it("drops expired keys without being asked for them again", async () => {
    const cache = new IdentityCache(a.app.database.prisma, 50);
    const gen = await createGenerator(a);
    const hash = parsePak(`Bearer ${gen.pak}`);
    if (!hash) throw new Error("the factory's PAK does not parse");
    expect((await cache.lookup(hash))?.id).toBe(gen.id);
    expect(cache.size).toBe(1);
    await vi.waitFor(() => expect(cache.size).toBe(0), { timeout: 5_000 });
  });
});
