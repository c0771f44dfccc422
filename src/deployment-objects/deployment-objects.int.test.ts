import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { CONFIGMAP_YAML, createGenerator, createObject, createStack, deleteStack } from "../../test/factories.js";

let broker: TestBroker;
let gen: { id: string; pak: string };

beforeAll(async () => {
  broker = await startTestBroker();
  gen = await createGenerator(broker);
});

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
const OBJECT = `query($id: ID!) { deploymentObject(id: $id) {
  id sequenceId yamlContent yamlChecksum isDeletionMarker submittedAt deletedAt stack { id } } }`;
const CREATE = `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) { deploymentObject { id } } }`;

describe("deployment objects", () => {
  it("stores the content and its SHA-256 checksum as the broker computed it", async () => {
    const stack = await createStack(broker, gen.pak);
    const yaml = `${CONFIGMAP_YAML("a")}---\n${CONFIGMAP_YAML("b")}# ünïcödé\n`;
    const created = await createObject(broker, gen.pak, stack.id, yaml);
    const data = ok(await broker.gql(OBJECT, { id: created.id }, gen.pak));
    expect(data.deploymentObject).toMatchObject({
      yamlContent: yaml,
      yamlChecksum: sha256(yaml),
      isDeletionMarker: false,
      deletedAt: null,
      stack: { id: stack.id },
    });
    expect(created.yamlChecksum).toBe(sha256(yaml));
  });

  it("assigns strictly increasing sequence ids, serialised as strings", async () => {
    const stack = await createStack(broker, gen.pak);
    const other = await createStack(broker, gen.pak);
    const seqs: string[] = [];
    for (let i = 0; i < 4; i++)
      seqs.push((await createObject(broker, gen.pak, i % 2 ? stack.id : other.id, CONFIGMAP_YAML(`c${i}`))).sequenceId);
    for (const s of seqs) expect(s).toMatch(/^\d+$/);
    for (let i = 1; i < seqs.length; i++) expect(BigInt(seqs[i]!)).toBeGreaterThan(BigInt(seqs[i - 1]!));
  });

  it("lists a stack's objects in sequence order with pagination and keeps the newest as latest", async () => {
    const stack = await createStack(broker, gen.pak);
    const created = [];
    for (let i = 0; i < 3; i++) created.push(await createObject(broker, gen.pak, stack.id, CONFIGMAP_YAML(`v${i}`)));
    const q = `query($id: ID!, $after: String) { stack(id: $id) {
      latestDeploymentObject { id }
      deploymentObjects(first: 2, after: $after) { edges { node { id sequenceId } } pageInfo { hasNextPage endCursor } } } }`;
    const page1 = ok(await broker.gql(q, { id: stack.id }, gen.pak)).stack;
    expect(page1.latestDeploymentObject.id).toBe(created[2]!.id);
    expect(page1.deploymentObjects.pageInfo.hasNextPage).toBe(true);
    const page2 = ok(await broker.gql(q, { id: stack.id, after: page1.deploymentObjects.pageInfo.endCursor }, gen.pak)).stack;
    expect(page2.deploymentObjects.pageInfo).toEqual({ hasNextPage: false, endCursor: expect.any(String) });
    const ids = [...page1.deploymentObjects.edges, ...page2.deploymentObjects.edges].map(
      (e: { node: { id: string } }) => e.node.id,
    );
    expect(ids).toEqual(created.map((c) => c.id));
  });

  it("refuses a bogus deploymentObjects cursor with BAD_USER_INPUT", async () => {
    const stack = await createStack(broker, gen.pak);
    const after = Buffer.from(JSON.stringify(["x1"])).toString("base64url");
    const result = await broker.gql(
      `query($id: ID!, $a: String) { stack(id: $id) { deploymentObjects(after: $a) { edges { cursor } } } }`,
      { id: stack.id, a: after },
      gen.pak,
    );
    expect(errorCode(result)).toBe("BAD_USER_INPUT");
  });

  it("keeps the history of a soft-deleted stack, marked deleted, behind the deletion marker", async () => {
    const stack = await createStack(broker, gen.pak);
    const object = await createObject(broker, gen.pak, stack.id);
    const { deletionMarker } = await deleteStack(broker, stack.id, { pak: gen.pak });
    expect(BigInt(deletionMarker!.sequenceId)).toBeGreaterThan(BigInt(object.sequenceId));
    const old = ok(await broker.gql(OBJECT, { id: object.id }, gen.pak)).deploymentObject;
    expect(old.deletedAt).not.toBeNull();
    const marker = ok(await broker.gql(OBJECT, { id: deletionMarker!.id }, gen.pak)).deploymentObject;
    expect(marker).toMatchObject({ isDeletionMarker: true, yamlContent: "", yamlChecksum: sha256(""), deletedAt: null });
  });

  it("refuses new objects on a deleted stack with NOT_FOUND", async () => {
    const stack = await createStack(broker, gen.pak);
    await deleteStack(broker, stack.id);
    expect(errorCode(await broker.gql(CREATE, { s: stack.id, y: CONFIGMAP_YAML() }, gen.pak))).toBe("NOT_FOUND");
  });

  it("lists the events agents reported on an object", async () => {
    const stack = await createStack(broker, gen.pak);
    const object = await createObject(broker, gen.pak, stack.id);
    const agent = ok(await broker.gql(`mutation { createAgent(input: { name: "ev-agent", clusterName: "c" }) { agent { id } } }`))
      .createAgent.agent;
    ok(
      await broker.gql(
        `mutation($a: ID!, $o: ID!) { reportAgentEvent(input: { agentId: $a, deploymentObjectId: $o, status: FAILURE, message: "boom" }) { event { id } } }`,
        { a: agent.id, o: object.id },
      ),
    );
    const data = ok(
      await broker.gql(
        `query($id: ID!) { deploymentObject(id: $id) { events { edges { node { status message eventType agent { id } } } } } }`,
        { id: object.id },
        gen.pak,
      ),
    );
    expect(data.deploymentObject.events.edges).toEqual([
      { node: { status: "FAILURE", message: "boom", eventType: "APPLY", agent: { id: agent.id } } },
    ]);
  });
});
