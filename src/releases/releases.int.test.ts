import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, unique } from "../../test/factories.js";
import {
  createComponent,
  createRelease,
  createReleaseRaw,
  fieldOf,
  RELEASE_FIELDS,
  registerVersion,
  setReleaseStatus,
} from "../../test/releases.js";
import { createTemplate } from "../../test/templates.js";
import { createUser } from "../../test/users.js";

let broker: TestBroker;
let paks: { viewer: string; approver: string; adminUser: string; gen: string; otherGen: string; agent: string };
let api: { id: string; imageRepository: string };
let web: { id: string };
let v1: { id: string; tag: string; digest: string; semver: string };
let w1: { id: string; tag: string; digest: string; semver: string };
let systemTemplate: string;

beforeAll(async () => {
  broker = await startTestBroker();
  const [viewer, approver, adminUser, gen, otherGen, agent] = await Promise.all([
    createUser(broker, "VIEWER"),
    createUser(broker, "APPROVER"),
    createUser(broker, "ADMIN"),
    createGenerator(broker),
    createGenerator(broker),
    createAgent(broker, { activate: true }),
  ]);
  paks = {
    viewer: viewer.pak,
    approver: approver.pak,
    adminUser: adminUser.pak,
    gen: gen.pak,
    otherGen: otherGen.pak,
    agent: agent.pak,
  };
  api = await createComponent(broker);
  web = await createComponent(broker);
  v1 = await registerVersion(broker, api.id);
  w1 = await registerVersion(broker, web.id);
  systemTemplate = (await createTemplate(broker, broker.adminPak)).id;
});

const input = (extra: Record<string, unknown> = {}) => ({
  name: unique("rel"),
  templateId: systemTemplate,
  parameters: { name: "demo" },
  components: [{ componentId: api.id, versionId: v1.id }],
  ...extra,
});
const read = (id: string, pak = broker.adminPak) =>
  broker.gql<{ release: Record<string, any> | null }>(`query($id: ID!) { release(id: $id) { ${RELEASE_FIELDS} } }`, { id }, pak);

describe("creating releases", () => {
  it("bundles versions named by id, digest, tag or semver, as images repository@digest", async () => {
    const w2 = await registerVersion(broker, web.id);
    const made = ok(
      await createReleaseRaw(
        broker,
        input({
          displayName: "Spring release",
          sourceRef: { repository: "https://git.example.com/acme", revision: "abc123" },
          components: [
            { componentId: api.id, digest: v1.digest },
            { componentId: web.id, semver: w2.semver },
          ],
        }),
      ),
    ).createRelease.release;
    expect(made).toMatchObject({
      status: "DRAFT",
      displayName: "Spring release",
      parameters: { name: "demo" },
      template: { id: systemTemplate },
    });
    const byComponent = Object.fromEntries(made.components.map((c) => [c.component.id, c]));
    expect(byComponent[api.id]).toMatchObject({
      image: `${api.imageRepository}@${v1.digest}`,
      version: { id: v1.id, tag: v1.tag },
    });
    expect(byComponent[web.id]?.version.id).toBe(w2.id);
    expect(ok(await read(made.id)).release?.sourceRef).toEqual({
      repository: "https://git.example.com/acme",
      revision: "abc123",
    });
    const byTag = ok(await createReleaseRaw(broker, input({ components: [{ componentId: web.id, tag: w1.tag }], ready: true })))
      .createRelease.release;
    expect(byTag).toMatchObject({ status: "READY", components: [{ version: { id: w1.id } }] });
  });

  it("lets the admin, ADMIN users and generators create, with templates they may read", async () => {
    const own = await createTemplate(broker, paks.gen);
    expect(ok(await createReleaseRaw(broker, input({ templateId: own.id }), paks.gen)).createRelease.release.template.id).toBe(
      own.id,
    );
    expect(ok(await createReleaseRaw(broker, input(), paks.gen))).toBeTruthy();
    expect(ok(await createReleaseRaw(broker, input({ templateId: own.id }), paks.adminUser))).toBeTruthy();
    // Another generator's template is not found for this one, as a missing one.
    const theirs = await createReleaseRaw(broker, input({ templateId: own.id }), paks.otherGen);
    expect(errorCode(theirs)).toBe("NOT_FOUND");
    for (const pak of [paks.viewer, paks.approver, paks.agent])
      expect(errorCode(await createReleaseRaw(broker, input(), pak))).toBe("FORBIDDEN");
  });

  it("refuses a taken name with CONFLICT", async () => {
    const r = await createRelease(broker, {
      components: [{ componentId: api.id, versionId: v1.id }],
      templateId: systemTemplate,
    });
    const res = await createReleaseRaw(broker, input({ name: r.name }));
    expect([errorCode(res), fieldOf(res)]).toEqual(["CONFLICT", "name"]);
  });

  it("refuses components that do not name exactly one registered version of their component, naming the field", async () => {
    const cases: [Record<string, unknown>[], string][] = [
      [[{ componentId: api.id }], "components[0]"],
      [[{ componentId: api.id, tag: v1.tag, digest: v1.digest }], "components[0]"],
      [[{ componentId: api.id, tag: "never-registered" }], "components[0].tag"],
      [[{ componentId: api.id, versionId: w1.id }], "components[0].versionId"],
      [[{ componentId: api.id, digest: w1.digest }], "components[0].digest"],
      [[{ componentId: api.id, digest: "sha256:short" }], "components[0].digest"],
      [[{ componentId: api.id, semver: "v1" }], "components[0].semver"],
      [[{ componentId: "00000000-0000-4000-8000-000000000000", tag: "x" }], "components[0].componentId"],
      [
        [
          { componentId: api.id, versionId: v1.id },
          { componentId: api.id, tag: v1.tag },
        ],
        "components[1].componentId",
      ],
      [[], "components"],
    ];
    for (const [components, field] of cases) {
      const res = await createReleaseRaw(broker, input({ components }));
      expect([errorCode(res), fieldOf(res)], JSON.stringify(components)).toEqual(["BAD_USER_INPUT", field]);
    }
  });

  it("refuses parameters and source references that are not bounded JSON objects", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ parameters: [1] }, "parameters"],
      [{ parameters: "x" }, "parameters"],
      [{ parameters: { big: "x".repeat(64 * 1024) } }, "parameters"],
      [{ sourceRef: { big: "x".repeat(4 * 1024) } }, "sourceRef"],
      [{ name: " " }, "name"],
      [{ templateId: "nope" }, "templateId"],
    ];
    for (const [change, field] of cases) {
      const res = await createReleaseRaw(broker, input(change));
      expect([errorCode(res), fieldOf(res)], field).toEqual(["BAD_USER_INPUT", field]);
    }
  });
});

describe("release status", () => {
  const fresh = async (ready = false) =>
    createRelease(broker, { components: [{ componentId: api.id, versionId: v1.id }], templateId: systemTemplate, ready });

  it("goes DRAFT → READY → DEPRECATED, for the admin and generators", async () => {
    const r = await fresh();
    expect(ok(await setReleaseStatus(broker, r.id, "READY", paks.gen)).setReleaseStatus.release.status).toBe("READY");
    // The same status again changes nothing and is no error.
    expect(ok(await setReleaseStatus(broker, r.id, "READY")).setReleaseStatus.release.status).toBe("READY");
    expect(ok(await setReleaseStatus(broker, r.id, "DEPRECATED", paks.adminUser)).setReleaseStatus.release.status).toBe(
      "DEPRECATED",
    );
    for (const pak of [paks.viewer, paks.approver, paks.agent])
      expect(errorCode(await setReleaseStatus(broker, r.id, "READY", pak))).toBe("FORBIDDEN");
  });

  it("refuses every other transition, and DEPLOYED from the API", async () => {
    const draft = await fresh();
    const ready = await fresh(true);
    const deployed = await fresh(true);
    await broker.db.sql.query(`UPDATE releases SET status = 'DEPLOYED' WHERE id = $1`, [deployed.id]);
    const refusals: [string, string, string][] = [
      [ready.id, "DRAFT", "CONFLICT"],
      [draft.id, "DEPRECATED", "CONFLICT"],
      [deployed.id, "READY", "CONFLICT"],
      [deployed.id, "DRAFT", "CONFLICT"],
      [draft.id, "DEPLOYED", "BAD_USER_INPUT"],
      [ready.id, "DEPLOYED", "BAD_USER_INPUT"],
    ];
    for (const [id, status, code] of refusals) {
      const res = await setReleaseStatus(broker, id, status);
      expect([errorCode(res), fieldOf(res)], `${id} ${status}`).toEqual([code, "status"]);
    }
    expect(ok(await setReleaseStatus(broker, deployed.id, "DEPRECATED")).setReleaseStatus.release.status).toBe("DEPRECATED");
    for (const status of ["READY", "DRAFT"])
      expect(errorCode(await setReleaseStatus(broker, deployed.id, status))).toBe("CONFLICT");
    expect(errorCode(await setReleaseStatus(broker, "00000000-0000-4000-8000-000000000000", "READY"))).toBe("NOT_FOUND");
  });

  it("keeps the components of a release that left DRAFT fixed (trigger)", async () => {
    const r = await fresh(true);
    const other = await registerVersion(broker, web.id);
    await expect(
      broker.db.sql.query(`INSERT INTO release_components (release_id, component_id, component_version_id) VALUES ($1, $2, $3)`, [
        r.id,
        web.id,
        other.id,
      ]),
    ).rejects.toThrow(/no longer a draft/);
  });
});

describe("reading releases", () => {
  it("lists releases newest first, by status, page by page", async () => {
    const made = [];
    for (let i = 0; i < 3; i++)
      made.push(
        await createRelease(broker, {
          components: [{ componentId: api.id, versionId: v1.id }],
          templateId: systemTemplate,
          ready: i !== 1,
        }),
      );
    const LIST = `query($s: ReleaseStatus, $a: String) { releases(status: $s, first: 2, after: $a) {
      edges { node { id status } } pageInfo { hasNextPage endCursor } } }`;
    const all = async (status: string | null, pak = broker.adminPak) => {
      const out: { id: string; status: string }[] = [];
      let after: string | null = null;
      do {
        const page: any = ok(await broker.gql(LIST, { s: status, a: after }, pak)).releases;
        out.push(...page.edges.map((e: { node: { id: string; status: string } }) => e.node));
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      } while (after);
      return out;
    };
    const ids = (await all(null)).map((r) => r.id);
    expect(ids.slice(0, 3)).toEqual(made.map((r) => r.id).reverse());
    const ready = await all("READY", paks.viewer);
    expect(ready.every((r) => r.status === "READY")).toBe(true);
    expect(ready.map((r) => r.id)).toEqual(expect.arrayContaining([made[0]?.id, made[2]?.id]));
    expect(ready.map((r) => r.id)).not.toContain(made[1]?.id);
    expect(errorCode(await broker.gql(LIST, { a: "bogus" }))).toBe("BAD_USER_INPUT");
  });

  it("lets the admin, read-only users and generators read, and refuses agents", async () => {
    const r = await createRelease(broker, {
      components: [{ componentId: api.id, versionId: v1.id }],
      templateId: systemTemplate,
    });
    for (const pak of [paks.viewer, paks.approver, paks.gen, paks.otherGen])
      expect(ok(await read(r.id, pak)).release?.id).toBe(r.id);
    expect(errorCode(await read(r.id, paks.agent))).toBe("FORBIDDEN");
    expect(errorCode(await broker.gql(`{ releases { edges { node { id } } } }`, {}, paks.agent))).toBe("FORBIDDEN");
    expect(ok(await read("00000000-0000-4000-8000-000000000000")).release).toBeNull();
  });
});
