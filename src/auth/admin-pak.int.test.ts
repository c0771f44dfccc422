import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type BrokerApp } from "../app.js";
import { configFrom } from "../config.js";
import { connectDatabase, type DatabaseHandle } from "../db/client.js";
import { createTestDatabase, type TestDatabase } from "../../test/db.js";
import { bootstrapAdminPak } from "./admin-pak.js";
import { hashLongToken, mintPak, parsePak } from "./pak.js";

const started: BrokerApp[] = [];
let handle: DatabaseHandle | undefined;

afterAll(async () => {
  for (const app of started) await app.stop();
  await handle?.close();
});

async function startBroker(db: TestDatabase, env: Record<string, string> = {}) {
  const config = configFrom({
    BROKKR__BROKER__PORT: "0",
    BROKKR__BROKER__HOST: "127.0.0.1",
    BROKKR__DATABASE__URL: db.url,
    BROKKR__LOG__LEVEL: "silent",
    ...env,
  });
  const app = createApp(config, db.url);
  started.push(app);
  return { app, ...(await app.start()) };
}

async function role(url: string, pak: string | undefined) {
  const res = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${pak}` },
    body: JSON.stringify({ query: "{ me { role } }" }),
  });
  const body = (await res.json()) as { data?: { me: { role: string } } | null; errors?: { extensions?: { code?: string } }[] };
  return body.data?.me.role ?? body.errors?.[0]?.extensions?.code;
}

const storedHash = async (db: TestDatabase) =>
  (await db.sql.query<{ value: string }>("SELECT value FROM broker_settings WHERE key = 'admin_pak_hash'")).rows.map(
    (r) => r.value,
  );

describe("admin PAK bootstrap through the broker", () => {
  let db: TestDatabase;
  let minted: string | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  it("mints an admin PAK once on first start, stores only its hash, and accepts it as ADMIN", async () => {
    const first = await startBroker(db);
    minted = first.mintedAdminPak;
    expect(minted).toMatch(/^brokkr_BR[1-9A-HJ-NP-Za-km-z]{6}_[1-9A-HJ-NP-Za-km-z]+$/);
    expect(await storedHash(db)).toEqual([parsePak(minted)]);
    expect(await role(first.url, minted)).toBe("ADMIN");
    expect(await role(first.url, mintPak().pak)).toBe("UNAUTHENTICATED");
  });

  it("mints nothing on a later start and keeps accepting the stored PAK", async () => {
    const [hash] = await storedHash(db);
    const later = await startBroker(db);
    expect(later.mintedAdminPak).toBeUndefined();
    expect(await storedHash(db)).toEqual([hash]);
    expect(await role(later.url, minted)).toBe("ADMIN");
  });

  it("lets a configured hash win over the stored one", async () => {
    const configured = mintPak();
    const broker = await startBroker(db, { BROKKR__BROKER__PAK_HASH: configured.hash });
    expect(broker.mintedAdminPak).toBeUndefined();
    expect(await role(broker.url, configured.pak)).toBe("ADMIN");
    const [stored] = await storedHash(db);
    expect(stored).not.toBe(configured.hash);
  });
});

describe("bootstrapAdminPak", () => {
  let db: TestDatabase;
  let race: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    race = await createTestDatabase();
    handle = connectDatabase(db.url, 2);
  });

  it("mints and stores a PAK when none is configured or stored", async () => {
    const result = await bootstrapAdminPak(handle!.prisma);
    expect(result.mintedPak).toBeDefined();
    expect(result.hash).toBe(hashLongToken(result.mintedPak!.split("_")[2]!));
    expect(await storedHash(db)).toEqual([result.hash]);
  });

  it("returns the stored hash and no PAK the second time", async () => {
    const [stored] = await storedHash(db);
    expect(await bootstrapAdminPak(handle!.prisma)).toEqual({ hash: stored });
  });

  it("returns a configured hash without touching the stored one", async () => {
    const [stored] = await storedHash(db);
    const configured = mintPak().hash;
    expect(await bootstrapAdminPak(handle!.prisma, configured)).toEqual({ hash: configured });
    expect(await storedHash(db)).toEqual([stored]);
  });

  it("agrees on one PAK when several brokers start at once", async () => {
    const conn = connectDatabase(race.url, 4);
    try {
      const results = await Promise.all(Array.from({ length: 4 }, () => bootstrapAdminPak(conn.prisma)));
      expect(new Set(results.map((r) => r.hash)).size).toBe(1);
      expect(results.filter((r) => r.mintedPak)).toHaveLength(1);
    } finally {
      await conn.close();
    }
  });
});
