import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createGenerator } from "../../test/factories.js";
import {
  createComponent,
  createRelease,
  fieldOf,
  RELEASE_FIELDS,
  registerVersion,
  setReleaseStatus,
} from "../../test/releases.js";
import { createTemplate } from "../../test/templates.js";
import { createUser } from "../../test/users.js";

let broker: TestBroker;
let gen: { pak: string };
let otherGen: { pak: string };
let viewer: { pak: string };
let api: { id: string };
let web: { id: string };

beforeAll(async () => {
  broker = await startTestBroker();
  [gen, otherGen, viewer] = await Promise.all([createGenerator(broker), createGenerator(broker), createUser(broker, "VIEWER")]);
  [api, web] = [await createComponent(broker), await createComponent(broker)];
});

const update = (input: Record<string, unknown>, pak = broker.adminPak) =>
  broker.gql<{ updateRelease: { release: Record<string, any> } }>(
    `mutation($i: UpdateReleaseInput!) { updateRelease(input: $i) { release { ${RELEASE_FIELDS} } } }`,
    { i: input },
    pak,
  );
const versionIds = (release: Record<string, any>) =>
  (release.components as { version: { id: string } }[]).map((c) => c.version.id).sort();

describe("editing a draft release", () => {
  it("sets the given fields, keeps the others, and replaces the components", async () => {
    const [a1, w1] = [await registerVersion(broker, api.id), await registerVersion(broker, web.id)];
    const draft = await createRelease(
      broker,
      { components: [{ componentId: api.id, versionId: a1.id }], parameters: { name: "one" } },
      gen.pak,
    );
    const template = await createTemplate(broker, gen.pak);
    const edited = ok(
      await update(
        { id: draft.id, displayName: "Edited", templateId: template.id, components: [{ componentId: web.id, tag: w1.tag }] },
        gen.pak,
      ),
    ).updateRelease.release;
    expect(edited).toMatchObject({
      displayName: "Edited",
      parameters: { name: "one" },
      template: { id: template.id },
      status: "DRAFT",
    });
    expect(versionIds(edited)).toEqual([w1.id]);
    const again = ok(await update({ id: draft.id, parameters: { name: "two" }, sourceRef: { revision: "r2" } })).updateRelease
      .release;
    expect(again).toMatchObject({ displayName: "Edited", parameters: { name: "two" }, sourceRef: { revision: "r2" } });
    expect(versionIds(again)).toEqual([w1.id]);
  });

  it("refuses any change once the release left DRAFT with CONFLICT, its components by the trigger", async () => {
    const [a1, a2] = [await registerVersion(broker, api.id), await registerVersion(broker, api.id)];
    const release = await createRelease(broker, { components: [{ componentId: api.id, versionId: a1.id }], ready: true });
    const byComponents = await update({ id: release.id, components: [{ componentId: api.id, versionId: a2.id }] });
    expect(errorCode(byComponents)).toBe("CONFLICT");
    expect(byComponents.errors?.[0]?.message).toMatch(/no longer a DRAFT/);
    const byName = await update({ id: release.id, displayName: "late" });
    expect(errorCode(byName)).toBe("CONFLICT");
    expect(byName.errors?.[0]?.message).toMatch(/the release is READY/);
    ok(await setReleaseStatus(broker, release.id, "DEPRECATED"));
    expect(errorCode(await update({ id: release.id, parameters: {} }))).toBe("CONFLICT");
    const read = ok(await broker.gql(`query($id: ID!) { release(id: $id) { ${RELEASE_FIELDS} } }`, { id: release.id })).release;
    expect([read.displayName, versionIds(read)]).toEqual([release.name, [a1.id]]);
  });

  it("lets a generator edit only the drafts it created, and validates like createRelease", async () => {
    const a1 = await registerVersion(broker, api.id);
    const draft = await createRelease(broker, { components: [{ componentId: api.id, versionId: a1.id }] }, gen.pak);
    expect(errorCode(await update({ id: draft.id, displayName: "x" }, otherGen.pak))).toBe("FORBIDDEN");
    expect(errorCode(await update({ id: draft.id, displayName: "x" }, viewer.pak))).toBe("FORBIDDEN");
    expect(ok(await update({ id: draft.id, displayName: "by admin" })).updateRelease.release.displayName).toBe("by admin");
    const bad = await update({ id: draft.id, components: [{ componentId: api.id, tag: "never" }] }, gen.pak);
    expect([errorCode(bad), fieldOf(bad)]).toEqual(["BAD_USER_INPUT", "components[0].tag"]);
    const big = await update({ id: draft.id, parameters: { x: "y".repeat(64 * 1024) } }, gen.pak);
    expect([errorCode(big), fieldOf(big)]).toEqual(["BAD_USER_INPUT", "parameters"]);
    expect(errorCode(await update({ id: "00000000-0000-4000-8000-000000000000", displayName: "x" }))).toBe("NOT_FOUND");
  });
});
