import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { CONFIGMAP_YAML, createGenerator, createStack, deleteStack } from "../../test/factories.js";
import { insertObjectGrouped } from "./group-insert.js";

// Group commit: concurrent creates share one statement and commit; each caller still gets its own answer.
let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});

const CREATE = `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) {
  deploymentObject { id sequenceId yamlContent stack { id } } } }`;
type Created = {
  createDeploymentObject: { deploymentObject: { id: string; sequenceId: string; yamlContent: string; stack: { id: string } } };
};

describe("concurrent creates of deployment objects", () => {
  it("answers each of many concurrent creates with its own committed row", async () => {
    const gen = await createGenerator(broker);
    const stacks = [await createStack(broker, gen.pak), await createStack(broker, gen.pak)];
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        broker.gql<Created>(CREATE, { s: stacks[i % 2]!.id, y: CONFIGMAP_YAML(`g${i}`) }, gen.pak),
      ),
    );
    const objects = results.map((r) => ok(r).createDeploymentObject.deploymentObject);
    objects.forEach((o, i) => {
      expect(o.yamlContent).toBe(CONFIGMAP_YAML(`g${i}`));
      expect(o.stack.id).toBe(stacks[i % 2]!.id);
    });
    expect(new Set(objects.map((o) => o.sequenceId)).size).toBe(40);
    // Answered means committed: another connection reads every row.
    const rows = await broker.app.database.pool.query(
      "SELECT count(*)::int AS n FROM deployment_objects WHERE id = ANY($1::uuid[])",
      [objects.map((o) => o.id)],
    );
    expect(rows.rows[0].n).toBe(40);
  });

  it("refuses only the creates for another generator's or a deleted stack in a shared group", async () => {
    const [owner, intruder] = [await createGenerator(broker), await createGenerator(broker)];
    const live = await createStack(broker, owner.pak);
    const gone = await createStack(broker, owner.pak);
    await deleteStack(broker, gone.id, { pak: owner.pak });
    const attempts = await Promise.all([
      broker.gql<Created>(CREATE, { s: live.id, y: CONFIGMAP_YAML("ok-1") }, owner.pak),
      broker.gql<Created>(CREATE, { s: live.id, y: CONFIGMAP_YAML("ok-1") }, intruder.pak),
      broker.gql<Created>(CREATE, { s: gone.id, y: CONFIGMAP_YAML("gone") }, owner.pak),
      broker.gql<Created>(CREATE, { s: live.id, y: CONFIGMAP_YAML("ok-2") }, owner.pak),
    ]);
    expect(ok(attempts[0]!).createDeploymentObject.deploymentObject.yamlContent).toBe(CONFIGMAP_YAML("ok-1"));
    expect(errorCode(attempts[1]!)).toBe("FORBIDDEN");
    expect(errorCode(attempts[2]!)).toBe("NOT_FOUND");
    expect(ok(attempts[3]!).createDeploymentObject.deploymentObject.yamlContent).toBe(CONFIGMAP_YAML("ok-2"));
  });

  it("shares one transaction among inserts queued together and keeps their order", async () => {
    const gen = await createGenerator(broker);
    const stack = await createStack(broker, gen.pak);
    const db = broker.app.database.prisma;
    const objects = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        insertObjectGrouped(db, {
          stackId: stack.id,
          ownerGeneratorId: gen.id,
          yamlContent: CONFIGMAP_YAML(`t${i}`),
          yamlChecksum: "0".repeat(64),
          isDeletionMarker: false,
        }),
      ),
    );
    const ids = objects.map((o) => o!.id);
    const { rows } = await broker.app.database.pool.query<{ xmin: string; id: string }>(
      "SELECT xmin::text AS xmin, id FROM deployment_objects WHERE id = ANY($1::uuid[]) ORDER BY sequence_id",
      [ids],
    );
    expect(new Set(rows.map((r) => r.xmin)).size).toBe(1);
    expect(rows.map((r) => r.id)).toEqual(ids);
  });
});
