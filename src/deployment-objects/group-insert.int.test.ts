import { beforeAll, describe, expect, it, vi } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { CONFIGMAP_YAML, createGenerator, createStack, deleteStack } from "../../test/factories.js";
import { sqlState } from "../errors.js";
import { insertObjectGrouped } from "./group-insert.js";
import { sha256Hex } from "./yaml.js";

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

describe("one statement per group", () => {
  const object = (stackId: string, generatorId: string, name: string, checksum = sha256Hex(CONFIGMAP_YAML(name))) => ({
    stackId,
    ownerGeneratorId: generatorId,
    yamlContent: CONFIGMAP_YAML(name),
    yamlChecksum: checksum,
    isDeletionMarker: false,
  });

  it("gives a row that fails its own error and commits every other row of the group", async () => {
    const gen = await createGenerator(broker);
    const stack = await createStack(broker, gen.pak);
    const db = broker.app.database.prisma;
    // The checksum column's CHECK refuses the middle row: the shared statement fails as a whole.
    const outcomes = await Promise.allSettled([
      insertObjectGrouped(db, object(stack.id, gen.id, "before")),
      insertObjectGrouped(db, object(stack.id, gen.id, "bad", "not-a-checksum")),
      insertObjectGrouped(db, object(stack.id, gen.id, "after")),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(sqlState((outcomes[1] as PromiseRejectedResult).reason)).toBe("23514");
    const rows = outcomes.flatMap((o) => (o.status === "fulfilled" && o.value ? [o.value] : []));
    expect(rows.map((r) => r.yamlContent)).toEqual([CONFIGMAP_YAML("before"), CONFIGMAP_YAML("after")]);
    const { rows: stored } = await broker.app.database.pool.query<{ yaml_content: string }>(
      "SELECT yaml_content FROM deployment_objects WHERE stack_id = $1 ORDER BY sequence_id",
      [stack.id],
    );
    // After the shared statement failed, each caller's row is retried on its own, concurrently: in either order.
    expect(stored.map((r) => r.yaml_content).sort()).toEqual([CONFIGMAP_YAML("after"), CONFIGMAP_YAML("before")]);
  });

  it("waits for a locked stack before drawing any sequence id, so the delivery horizon stays readable", async () => {
    const gen = await createGenerator(broker);
    const [free, locked] = [await createStack(broker, gen.pak), await createStack(broker, gen.pak)];
    const db = broker.app.database.prisma;
    const holder = await broker.app.database.pool.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT id FROM stacks WHERE id = $1 FOR UPDATE", [locked.id]);
      // Queued in one turn: one group, its first row for the free stack.
      const inserting = Promise.all([
        insertObjectGrouped(db, object(free.id, gen.id, "free")),
        insertObjectGrouped(db, object(locked.id, gen.id, "locked")),
      ]);
      await vi.waitFor(
        async () => {
          const { rows } = await broker.app.database.pool.query(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'WITH locked AS%'",
          );
          expect(rows).toHaveLength(1);
        },
        { timeout: 10_000 },
      );
      // brokkr_delivery_horizon gives up after its 200 ms lock_timeout if an inserter holds the lock.
      const { rows } = await broker.app.database.pool.query("SELECT brokkr_delivery_horizon() AS h");
      expect(rows).toHaveLength(1);
      await holder.query("COMMIT");
      const objects = await inserting;
      expect(objects.map((o) => o?.stackId)).toEqual([free.id, locked.id]);
      expect(objects[0]!.sequenceId < objects[1]!.sequenceId).toBe(true);
    } finally {
      holder.release();
    }
  });
});
