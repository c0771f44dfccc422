import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, unique } from "../../test/factories.js";
import {
  createComponent,
  createComponentRaw,
  digestOf,
  fieldOf,
  registerVersion,
  registerVersionRaw,
  VERSION_FIELDS,
} from "../../test/releases.js";
import { createUser } from "../../test/users.js";

let broker: TestBroker;
let paks: { viewer: string; adminUser: string; gen: string; agent: string };

beforeAll(async () => {
  broker = await startTestBroker();
  const [viewer, adminUser, gen, agent] = await Promise.all([
    createUser(broker, "VIEWER"),
    createUser(broker, "ADMIN"),
    createGenerator(broker),
    createAgent(broker, { activate: true }),
  ]);
  paks = { viewer: viewer.pak, adminUser: adminUser.pak, gen: gen.pak, agent: agent.pak };
});

const COMPONENT = `query($id: ID!, $first: Int, $after: String) { component(id: $id) { id name defaultChannel
  versions(first: $first, after: $after) { edges { node { ${VERSION_FIELDS} } } pageInfo { hasNextPage endCursor } } } }`;
const readComponent = (id: string, vars: Record<string, unknown> = {}, pak = broker.adminPak) =>
  broker.gql<{
    component: {
      id: string;
      versions: { edges: { node: { id: string; tag: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
    } | null;
  }>(COMPONENT, { id, ...vars }, pak);

describe("components", () => {
  it("creates a component with defaults, for the admin, ADMIN users and generators only", async () => {
    const name = unique("api");
    const made = ok(await createComponentRaw(broker, { name, imageRepository: "ghcr.io/acme/api" }, paks.gen)).createComponent
      .component;
    expect(made).toMatchObject({ name, displayName: name, imageRepository: "ghcr.io/acme/api", defaultChannel: "stable" });
    expect(ok(await createComponentRaw(broker, { name: unique("c"), imageRepository: "acme/x" }, paks.adminUser))).toBeTruthy();
    for (const pak of [paks.viewer, paks.agent])
      expect(errorCode(await createComponentRaw(broker, { name: unique("c"), imageRepository: "acme/x" }, pak))).toBe(
        "FORBIDDEN",
      );
    const dup = await createComponentRaw(broker, { name, imageRepository: "acme/x" });
    expect([errorCode(dup), fieldOf(dup)]).toEqual(["CONFLICT", "name"]);
  });

  it("refuses malformed names, repositories and channels naming the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: "Api" }, "name"],
      [{ name: "api-" }, "name"],
      [{ imageRepository: "acme/api:1.0" }, "imageRepository"],
      [{ imageRepository: "acme/api@sha256:abc" }, "imageRepository"],
      [{ imageRepository: "Acme/API" }, "imageRepository"],
      [{ imageRepository: "" }, "imageRepository"],
      [{ defaultChannel: "Stable" }, "defaultChannel"],
      [{ displayName: "x".repeat(256) }, "displayName"],
    ];
    for (const [input, field] of cases) {
      const res = await createComponentRaw(broker, {
        name: unique("c"),
        imageRepository: "registry.example.com:5000/a/b",
        ...input,
      });
      expect([errorCode(res), fieldOf(res)], JSON.stringify(input)).toEqual(["BAD_USER_INPUT", field]);
    }
  });

  it("lets the admin, read-only users and generators read components, and refuses agents", async () => {
    const c = await createComponent(broker);
    for (const pak of [broker.adminPak, paks.viewer, paks.gen]) {
      expect(ok(await readComponent(c.id, {}, pak)).component?.id).toBe(c.id);
      const listed = ok(await broker.gql(`{ components(first: 500) { edges { node { id } } } }`, {}, pak));
      expect(listed.components.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(c.id);
    }
    expect(errorCode(await readComponent(c.id, {}, paks.agent))).toBe("FORBIDDEN");
    expect(errorCode(await broker.gql(`{ components { edges { node { id } } } }`, {}, paks.agent))).toBe("FORBIDDEN");
    expect(ok(await readComponent("00000000-0000-4000-8000-000000000000")).component).toBeNull();
  });

  it("pages components by name", async () => {
    for (let i = 0; i < 3; i++) await createComponent(broker);
    const names: string[] = [];
    let after: string | null = null;
    do {
      const page: any = ok(
        await broker.gql(
          `query($a: String) { components(first: 2, after: $a) { edges { node { name } } pageInfo { hasNextPage endCursor } } }`,
          { a: after },
        ),
      ).components;
      names.push(...page.edges.map((e: { node: { name: string } }) => e.node.name));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(names).toEqual([...names].sort());
    expect(names.length).toBeGreaterThanOrEqual(3);
  });
});

describe("registering versions", () => {
  it("registers a version with the component's default channel, for the admin and generators", async () => {
    const c = await createComponent(broker, { defaultChannel: "edge" });
    const res = ok(
      await registerVersionRaw(
        broker,
        { componentId: c.id, tag: "v2.0.0-rc.1", digest: digestOf("a"), semver: "2.0.0-rc.1+build.5" },
        paks.gen,
      ),
    );
    expect(res.registerComponentVersion).toMatchObject({
      created: true,
      version: {
        tag: "v2.0.0-rc.1",
        digest: digestOf("a"),
        semver: "2.0.0-rc.1+build.5",
        channel: "edge",
        component: { id: c.id },
      },
    });
    expect(
      ok(
        await registerVersionRaw(
          broker,
          { componentId: c.id, tag: "b", digest: digestOf("b"), semver: "1.0.0", channel: "beta" },
          paks.adminUser,
        ),
      ).registerComponentVersion.version,
    ).toMatchObject({ channel: "beta" });
    for (const pak of [paks.viewer, paks.agent])
      expect(
        errorCode(await registerVersionRaw(broker, { componentId: c.id, tag: "c", digest: digestOf("c"), semver: "1.0.1" }, pak)),
      ).toBe("FORBIDDEN");
  });

  it("answers the same tag and digest again with the existing version and created: false", async () => {
    const c = await createComponent(broker);
    const input = { componentId: c.id, tag: "1.4.0", digest: digestOf(unique("d")), semver: "1.4.0" };
    const first = ok(await registerVersionRaw(broker, input, paks.gen)).registerComponentVersion;
    const again = ok(await registerVersionRaw(broker, input, paks.gen)).registerComponentVersion;
    expect(again).toEqual({ ...first, created: false });
    expect(ok(await readComponent(c.id)).component?.versions.edges).toHaveLength(1);
  });

  it("refuses a moved tag, a digest or semver under another tag, and a changed semver with CONFLICT naming the field", async () => {
    const c = await createComponent(broker);
    const base = { componentId: c.id, tag: "1.0.0", digest: digestOf(unique("d")), semver: "1.0.0" };
    ok(await registerVersionRaw(broker, base));
    const cases: [Record<string, unknown>, string][] = [
      [{ digest: digestOf(unique("other")), semver: "9.0.0" }, "tag"],
      [{ tag: "other", semver: "9.0.0" }, "digest"],
      [{ tag: "other", digest: digestOf(unique("other")) }, "semver"],
      [{ semver: "1.0.1" }, "semver"],
      [{ channel: "beta" }, "channel"],
    ];
    for (const [change, field] of cases) {
      const res = await registerVersionRaw(broker, { ...base, ...change });
      expect([errorCode(res), fieldOf(res)], JSON.stringify(change)).toEqual(["CONFLICT", field]);
    }
    expect(ok(await readComponent(c.id)).component?.versions.edges).toHaveLength(1);
  });

  it("validates digests, semvers (SemVer 2.0.0 exactly) and tags naming the field", async () => {
    const c = await createComponent(broker);
    const ok1 = { componentId: c.id, tag: "t", digest: digestOf("x"), semver: "1.0.0" };
    const cases: [Record<string, unknown>, string, string][] = [
      [{ digest: "sha256:abc" }, "digest", "BAD_USER_INPUT"],
      [{ digest: digestOf("x").toUpperCase().replace("SHA256", "sha256") }, "digest", "BAD_USER_INPUT"],
      [{ digest: `sha512:${"a".repeat(64)}` }, "digest", "BAD_USER_INPUT"],
      [{ semver: "v1.0.0" }, "semver", "BAD_USER_INPUT"],
      [{ semver: "1.0" }, "semver", "BAD_USER_INPUT"],
      [{ semver: "01.0.0" }, "semver", "BAD_USER_INPUT"],
      [{ semver: "1.0.0-01" }, "semver", "BAD_USER_INPUT"],
      [{ semver: " 1.0.0" }, "semver", "BAD_USER_INPUT"],
      [{ tag: ".hidden" }, "tag", "BAD_USER_INPUT"],
      [{ tag: "t".repeat(129) }, "tag", "BAD_USER_INPUT"],
      [{ tag: "a:b" }, "tag", "BAD_USER_INPUT"],
      [{ channel: "Beta" }, "channel", "BAD_USER_INPUT"],
      [{ componentId: "nope" }, "componentId", "BAD_USER_INPUT"],
    ];
    for (const [change, field, code] of cases) {
      const res = await registerVersionRaw(broker, { ...ok1, ...change });
      expect([errorCode(res), fieldOf(res)], JSON.stringify(change)).toEqual([code, field]);
    }
    const unknown = await registerVersionRaw(broker, { ...ok1, componentId: "00000000-0000-4000-8000-000000000000" });
    expect(errorCode(unknown)).toBe("NOT_FOUND");
  });

  it("pages a component's versions newest first", async () => {
    const c = await createComponent(broker);
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await registerVersion(broker, c.id));
    const tags: string[] = [];
    let after: string | undefined;
    do {
      const page = ok(await readComponent(c.id, { first: 2, after })).component?.versions;
      tags.push(...(page?.edges.map((e) => e.node.tag) ?? []));
      after = page?.pageInfo.hasNextPage ? page.pageInfo.endCursor : undefined;
    } while (after);
    expect(tags).toEqual(made.map((v) => v.tag).reverse());
    expect(errorCode(await readComponent(c.id, { after: "bogus" }))).toBe("BAD_USER_INPUT");
  });
});
