import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, unique } from "../../test/factories.js";
import {
  createEnvironment,
  createEnvironmentRaw,
  ENVIRONMENT_FIELDS,
  fieldOf,
  insertPromotionRow,
  readyRelease,
  updateEnvironmentRaw,
} from "../../test/releases.js";
import { createUser } from "../../test/users.js";

let broker: TestBroker;
let paks: { viewer: string; approver: string; adminUser: string; gen: string; agent: string };

beforeAll(async () => {
  broker = await startTestBroker();
  const [viewer, approver, adminUser, gen, agent] = await Promise.all([
    createUser(broker, "VIEWER"),
    createUser(broker, "APPROVER"),
    createUser(broker, "ADMIN"),
    createGenerator(broker),
    createAgent(broker, { activate: true }),
  ]);
  paks = { viewer: viewer.pak, approver: approver.pak, adminUser: adminUser.pak, gen: gen.pak, agent: agent.pak };
});

const envName = () => unique("e").replace(/[^a-z0-9-]/g, "");
let order = 1;
const create = (input: Record<string, unknown>, pak = broker.adminPak) =>
  createEnvironmentRaw(broker, { name: envName(), orderIndex: order++, ...input }, pak);
const get = (id: string, pak = broker.adminPak) =>
  broker.gql<{ environment: Record<string, any> | null }>(
    `query($id: ID!) { environment(id: $id) { ${ENVIRONMENT_FIELDS} } }`,
    { id },
    pak,
  );
const list = (vars: Record<string, unknown> = {}, pak = broker.adminPak) =>
  broker.gql<{
    environments: {
      edges: { node: { id: string; orderIndex: number } }[];
      pageInfo: { endCursor: string; hasNextPage: boolean };
    };
  }>(
    `query($f: EnvironmentFilter, $first: Int, $after: String) {
       environments(filter: $f, first: $first, after: $after) { edges { node { id orderIndex } } pageInfo { endCursor hasNextPage } } }`,
    vars,
    pak,
  );
const remove = (id: string, pak = broker.adminPak) =>
  broker.gql(`mutation($id: ID!) { deleteEnvironment(input: { id: $id }) { id } }`, { id }, pak);

describe("creating environments", () => {
  it("stores an environment with the defaults the contract names", async () => {
    const name = envName();
    const env = ok(await create({ name, orderIndex: 900 })).createEnvironment.environment as Record<string, unknown>;
    expect(env).toMatchObject({
      name,
      displayName: name,
      orderIndex: 900,
      config: {},
      timeZone: "UTC",
      requiredApprovals: 0,
      requireSeparationOfDuties: true,
      rolloutStrategy: "ALL_AT_ONCE",
      batchSize: null,
      batchPercent: null,
      failureThreshold: 1,
      driftPolicy: "REPORT",
      agentSelector: { labels: [], annotations: [] },
      freezeWindows: [],
    });
  });

  it("stores every setting as given, freeze windows in both shapes", async () => {
    const input = {
      displayName: "Production",
      config: { replicas: 3, region: "eu" },
      timeZone: "Europe/Oslo",
      requiredApprovals: 2,
      requireSeparationOfDuties: false,
      rolloutStrategy: "ROLLING",
      batchPercent: 25,
      failureThreshold: 2,
      driftPolicy: "HEAL",
      agentSelector: { labels: ["prod"], annotations: [{ key: "region", value: "eu" }] },
      freezeWindows: [
        { start: "2026-12-24T00:00:00.000Z", end: "2026-12-27T00:00:00.000Z", reason: "holidays" },
        { days: ["SAT", "FRI"], startTime: "18:00", endTime: "06:00" },
      ],
    };
    const env = ok(await create(input)).createEnvironment.environment;
    const read = ok(await get(env.id)).environment;
    const { freezeWindows: _, ...settings } = input;
    expect(read).toMatchObject({ ...settings, batchSize: null });
    expect(read?.freezeWindows).toEqual([
      {
        start: "2026-12-24T00:00:00.000Z",
        end: "2026-12-27T00:00:00.000Z",
        reason: "holidays",
        days: null,
        startTime: null,
        endTime: null,
      },
      { start: null, end: null, days: ["FRI", "SAT"], startTime: "18:00", endTime: "06:00", reason: null },
    ]);
  });

  it("lets the admin key and ADMIN users create, and refuses everyone else", async () => {
    expect(ok(await create({}, paks.adminUser)).createEnvironment.environment.id).toBeTruthy();
    for (const pak of [paks.viewer, paks.approver, paks.gen, paks.agent])
      expect(errorCode(await create({}, pak))).toBe("FORBIDDEN");
    expect(errorCode(await create({}, null as unknown as string))).toBe("UNAUTHENTICATED");
  });

  it("refuses a taken name or order index among live environments with CONFLICT naming the field", async () => {
    const env = await createEnvironment(broker);
    const byName = await create({ name: env.name });
    expect([errorCode(byName), fieldOf(byName)]).toEqual(["CONFLICT", "name"]);
    const byOrder = await create({ orderIndex: env.orderIndex });
    expect([errorCode(byOrder), fieldOf(byOrder)]).toEqual(["CONFLICT", "orderIndex"]);
    // Both free again once it is deleted (soft: the row stays).
    ok(await remove(env.id));
    expect(ok(await create({ name: env.name, orderIndex: env.orderIndex })).createEnvironment.environment.name).toBe(env.name);
  });

  it("refuses each malformed input with BAD_USER_INPUT naming the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: "Prod" }, "name"],
      [{ name: "-prod" }, "name"],
      [{ name: "p".repeat(64) }, "name"],
      [{ orderIndex: -1 }, "orderIndex"],
      [{ orderIndex: 100_001 }, "orderIndex"],
      [{ displayName: " " }, "displayName"],
      [{ timeZone: "Mars/Olympus_Mons" }, "timeZone"],
      [{ timeZone: "+01:00" }, "timeZone"],
      [{ requiredApprovals: 11 }, "requiredApprovals"],
      [{ failureThreshold: 0 }, "failureThreshold"],
      [{ rolloutStrategy: "ROLLING" }, "batchSize"],
      [{ rolloutStrategy: "ROLLING", batchSize: 2, batchPercent: 10 }, "batchSize"],
      [{ batchSize: 2 }, "batchSize"],
      [{ rolloutStrategy: "ROLLING", batchPercent: 101 }, "batchPercent"],
      [{ rolloutStrategy: "ROLLING", batchSize: 0 }, "batchSize"],
      [{ config: [1, 2] }, "config"],
      [{ config: { big: "x".repeat(64 * 1024) } }, "config"],
      [{ config: { a: "nul\u0000" } }, "config.a"],
      [{ agentSelector: { labels: ["bad label"] } }, "agentSelector.labels[0]"],
      [
        {
          agentSelector: {
            annotations: [
              { key: "k", value: "a" },
              { key: "k", value: "b" },
            ],
          },
        },
        "agentSelector.annotations",
      ],
      [{ freezeWindows: [{ start: "2026-01-02T00:00:00Z", end: "2026-01-01T00:00:00Z" }] }, "freezeWindows[0].end"],
      [{ freezeWindows: [{ start: "2026-01-01T00:00:00Z" }] }, "freezeWindows[0]"],
      [{ freezeWindows: [{ start: "2026-01-01T00:00:00Z", end: "2026-01-02T00:00:00Z", days: ["MON"] }] }, "freezeWindows[0]"],
      [{ freezeWindows: [{ days: ["MONDAY"], startTime: "01:00", endTime: "02:00" }] }, "freezeWindows[0].days"],
      [{ freezeWindows: [{ days: ["MON", "MON"], startTime: "01:00", endTime: "02:00" }] }, "freezeWindows[0].days"],
      [{ freezeWindows: [{ days: [], startTime: "01:00", endTime: "02:00" }] }, "freezeWindows[0].days"],
      [{ freezeWindows: [{ days: ["MON"], startTime: "24:00", endTime: "02:00" }] }, "freezeWindows[0].startTime"],
      [{ freezeWindows: [{ days: ["MON"], startTime: "01:00" }] }, "freezeWindows[0].endTime"],
      [{ freezeWindows: [{ days: ["MON"], startTime: "1:00", endTime: "02:00" }] }, "freezeWindows[0].startTime"],
      [{ explicitMemberIds: ["not-an-id"] }, "explicitMemberIds[0]"],
      [{ explicitMemberIds: ["00000000-0000-4000-8000-000000000000"] }, "explicitMemberIds"],
    ];
    const count = async () => (await broker.db.sql.query("SELECT count(*)::int AS n FROM environments")).rows[0].n;
    const before = await count();
    for (const [input, field] of cases) {
      const res = await create(input);
      expect([errorCode(res), fieldOf(res)], JSON.stringify(input).slice(0, 120)).toEqual(["BAD_USER_INPUT", field]);
    }
    // Lists longer than 50 entries are refused before any resolver runs (src/graphql/limits.ts).
    const long = await create({ agentSelector: { labels: Array.from({ length: 51 }, (_, i) => `l${i}`) } });
    expect(errorCode(long)).toBe("LIST_TOO_LONG");
    const windows = Array.from({ length: 51 }, () => ({ days: ["MON"], startTime: "01:00", endTime: "02:00" }));
    expect(errorCode(await create({ freezeWindows: windows }))).toBe("LIST_TOO_LONG");
    expect(await count()).toBe(before);
  });
});

describe("updating and deleting environments", () => {
  it("keeps fields left out, and keeps batch settings consistent with the strategy", async () => {
    const env = await createEnvironment(broker, { requiredApprovals: 1, config: { a: 1 } });
    const rolling = ok(await updateEnvironmentRaw(broker, { id: env.id, rolloutStrategy: "ROLLING", batchPercent: 50 }));
    expect(rolling.updateEnvironment.environment).toMatchObject({ requiredApprovals: 1, config: { a: 1 }, batchPercent: 50 });
    // Naming the other batch field replaces the first.
    const bySize = ok(await updateEnvironmentRaw(broker, { id: env.id, batchSize: 3 })).updateEnvironment.environment;
    expect(bySize).toMatchObject({ rolloutStrategy: "ROLLING", batchSize: 3, batchPercent: null });
    const flat = ok(await updateEnvironmentRaw(broker, { id: env.id, rolloutStrategy: "ALL_AT_ONCE" })).updateEnvironment
      .environment;
    expect(flat).toMatchObject({ rolloutStrategy: "ALL_AT_ONCE", batchSize: null, batchPercent: null, requiredApprovals: 1 });
    const bad = await updateEnvironmentRaw(broker, { id: env.id, rolloutStrategy: "ALL_AT_ONCE", batchSize: 2 });
    expect([errorCode(bad), fieldOf(bad)]).toEqual(["BAD_USER_INPUT", "batchSize"]);
  });

  it("refuses another live environment's order index with CONFLICT, and unknown ids with NOT_FOUND", async () => {
    const [a, b] = [await createEnvironment(broker), await createEnvironment(broker)];
    const res = await updateEnvironmentRaw(broker, { id: b.id, orderIndex: a.orderIndex });
    expect([errorCode(res), fieldOf(res)]).toEqual(["CONFLICT", "orderIndex"]);
    expect(ok(await updateEnvironmentRaw(broker, { id: b.id, orderIndex: b.orderIndex })).updateEnvironment.environment.id).toBe(
      b.id,
    );
    expect(errorCode(await updateEnvironmentRaw(broker, { id: "00000000-0000-4000-8000-000000000000" }))).toBe("NOT_FOUND");
    expect(errorCode(await remove("00000000-0000-4000-8000-000000000000"))).toBe("NOT_FOUND");
  });

  it("lets only the admin key and ADMIN users update and delete", async () => {
    const env = await createEnvironment(broker);
    for (const pak of [paks.viewer, paks.approver, paks.gen, paks.agent]) {
      expect(errorCode(await updateEnvironmentRaw(broker, { id: env.id, requiredApprovals: 3 }, pak))).toBe("FORBIDDEN");
      expect(errorCode(await remove(env.id, pak))).toBe("FORBIDDEN");
    }
    expect(ok(await updateEnvironmentRaw(broker, { id: env.id, requiredApprovals: 3 }, paks.adminUser))).toBeTruthy();
    expect(ok(await remove(env.id, paks.adminUser))).toEqual({ deleteEnvironment: { id: env.id } });
    expect(ok(await get(env.id)).environment).toBeNull();
    expect(errorCode(await updateEnvironmentRaw(broker, { id: env.id, requiredApprovals: 1 }))).toBe("NOT_FOUND");
  });

  it("refuses to delete an environment with a promotion in flight", async () => {
    const env = await createEnvironment(broker);
    const { release } = await readyRelease(broker);
    await insertPromotionRow(broker, release.id, env.id, "PENDING_APPROVAL", null);
    expect(errorCode(await remove(env.id))).toBe("CONFLICT");
    expect(ok(await get(env.id)).environment?.id).toBe(env.id);
  });
});

describe("reading environments", () => {
  it("lists live environments by order index, page by page", async () => {
    const made = [
      await createEnvironment(broker, { orderIndex: 20_003 }),
      await createEnvironment(broker, { orderIndex: 20_001 }),
    ];
    const gone = await createEnvironment(broker, { orderIndex: 20_002 });
    ok(await remove(gone.id));
    const seen: { id: string; orderIndex: number }[] = [];
    let after: string | undefined;
    do {
      const page = ok(await list({ first: 2, after })).environments;
      seen.push(...page.edges.map((e) => e.node));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : undefined;
    } while (after);
    const orders = seen.map((e) => e.orderIndex);
    expect(orders).toEqual([...orders].sort((x, y) => x - y));
    expect(seen.map((e) => e.id)).toEqual(expect.arrayContaining(made.map((e) => e.id)));
    expect(seen.map((e) => e.id)).not.toContain(gone.id);
    const filtered = ok(await list({ f: { nameContains: made[0]?.name } })).environments.edges;
    expect(filtered.map((e) => e.node.id)).toEqual([made[0]?.id]);
    expect(errorCode(await list({ after: "bogus" }))).toBe("BAD_USER_INPUT");
    expect(errorCode(await list({ first: 501 }))).toBe("BAD_USER_INPUT");
  });

  it("lets the admin, read-only users and generators read, and refuses agents", async () => {
    const env = await createEnvironment(broker);
    for (const pak of [paks.viewer, paks.approver, paks.gen, paks.adminUser]) {
      expect(ok(await get(env.id, pak)).environment?.id).toBe(env.id);
      expect(ok(await list({}, pak)).environments.edges.length).toBeGreaterThan(0);
    }
    expect(errorCode(await get(env.id, paks.agent))).toBe("FORBIDDEN");
    expect(errorCode(await list({}, paks.agent))).toBe("FORBIDDEN");
    expect(errorCode(await get(env.id, null as unknown as string))).toBe("UNAUTHENTICATED");
    expect(fieldOf(await get("nope"))).toBe("id");
  });
});
