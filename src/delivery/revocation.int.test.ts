import type { Client } from "graphql-ws";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import {
  createAgent,
  createGenerator,
  createObject,
  createStack,
  setAgentStatus,
  targetStack,
  unique,
} from "../../test/factories.js";
import { watchDeployments, wsClient } from "../../test/subscriptions.js";

// Two brokers on one database: a revocation taken by one must end sockets held by both.
let a: TestBroker;
let b: TestBroker;
beforeAll(async () => {
  a = await startTestBroker();
  b = await startTestBroker({}, a.db);
});

type Closed = { code: number; reason: string };

/** A generator's socket kept open by a stackDeploymentObjects subscription; resolves once subscribed. */
async function generatorSocket(broker: TestBroker, gen: { pak: string }, stackId: string) {
  const client = wsClient(broker.url, gen.pak);
  let settle!: (c: Closed) => void;
  const closed = new Promise<Closed>((r) => (settle = r));
  client.on("closed", (e) => settle(e as Closed));
  const seen: string[] = [];
  client.subscribe<{ stackDeploymentObjects: { id: string } }>(
    { query: `subscription($s: ID!) { stackDeploymentObjects(stackId: $s) { id } }`, variables: { s: stackId } },
    { next: (r) => r.data && seen.push(r.data.stackDeploymentObjects.id), error: () => {}, complete: () => {} },
  );
  // Sentinel: an object arriving proves the subscription is live on this socket.
  const sentinel = await createObject(a, gen.pak, stackId);
  await vi.waitFor(() => expect(seen).toContain(sentinel.id), { timeout: 10_000 });
  return { client, closed, seen };
}

/** One operation over an existing graphql-ws client: its result, or the error it ended with. */
function exec(client: Client, query: string, variables: Record<string, unknown> = {}) {
  return new Promise<{ data?: any; errors?: readonly { extensions?: { code?: string } }[] } | { failed: unknown }>((resolve) => {
    client.subscribe(
      { query, variables },
      { next: (r) => resolve(r as never), error: (failed) => resolve({ failed }), complete: () => {} },
    );
  });
}

async function subscribedAgent() {
  const gen = await createGenerator(a);
  const agent = await createAgent(a, { activate: true });
  const stack = await createStack(a, gen.pak);
  await targetStack(a, agent.id, stack.id);
  const first = await createObject(a, gen.pak, stack.id);
  const onA = watchDeployments(a.url, agent.pak);
  const onB = watchDeployments(b.url, agent.pak);
  await onA.until((e) => e.some((x) => x.deploymentObject?.id === first.id));
  await onB.until((e) => e.some((x) => x.deploymentObject?.id === first.id));
  return { gen, agent, stack, onA, onB };
}

const stacksOf = async (generatorId: string) =>
  ok(
    await a.gql<{ stacks: { edges: { node: { name: string } }[] } }>(
      `query($g: ID!) { stacks(filter: { generatorId: $g, includeDeleted: true }) { edges { node { name } } } }`,
      { g: generatorId },
    ),
  ).stacks.edges.map((e) => e.node.name);

describe("revoking a generator's key", () => {
  it("closes its sockets on both brokers with 4401 when the PAK is rotated", async () => {
    const gen = await createGenerator(a);
    const stack = await createStack(a, gen.pak);
    const onA = await generatorSocket(a, gen, stack.id);
    const onB = await generatorSocket(b, gen, stack.id);
    ok(await a.gql(`mutation($id: ID!) { rotateGeneratorPak(input: { id: $id }) { pak } }`, { id: gen.id }));
    expect((await onA.closed).code).toBe(4401);
    expect((await onB.closed).code).toBe(4401);
  });

  it("refuses every later operation on the old socket, even before the notification arrives", async () => {
    const gen = await createGenerator(a);
    const stack = await createStack(a, gen.pak);
    const creating = await generatorSocket(b, gen, stack.id);
    const rotating = await generatorSocket(b, gen, stack.id);
    // Broker b does not hear the rotation (a lagging LISTEN connection); its per-operation check must hold.
    const heard = vi.spyOn(b.app.delivery.connections, "identityChanged").mockImplementation(() => {});
    try {
      const rotated = ok(
        await a.gql<{ rotateGeneratorPak: { pak: string } }>(
          `mutation($id: ID!) { rotateGeneratorPak(input: { id: $id }) { pak } }`,
          { id: gen.id },
        ),
      ).rotateGeneratorPak.pak;
      const created = await exec(
        creating.client,
        `mutation($n: String!) { createStack(input: { name: $n, labels: ["x"] }) { stack { id } } }`,
        { n: unique("stale") },
      );
      expect("data" in created && created.data?.createStack).toBeFalsy();
      const rotatedAgain = await exec(rotating.client, `mutation($id: ID!) { rotateGeneratorPak(input: { id: $id }) { pak } }`, {
        id: gen.id,
      });
      expect("data" in rotatedAgain && rotatedAgain.data?.rotateGeneratorPak).toBeFalsy();
      expect((await creating.closed).code).toBe(4401);
      expect((await rotating.closed).code).toBe(4401);
      expect(await stacksOf(gen.id)).toEqual([stack.name]);
      // The owner's new key still works: the old socket could not rotate it away.
      const me = ok(await a.gql<{ me: { id: string } }>(`query { me { id } }`, {}, rotated));
      expect(me.me.id).toBe(gen.id);
    } finally {
      heard.mockRestore();
    }
  });

  it("closes its sockets on both brokers when the generator is deleted, and it can create nothing more", async () => {
    const gen = await createGenerator(a);
    const stack = await createStack(a, gen.pak);
    const onA = await generatorSocket(a, gen, stack.id);
    const onB = await generatorSocket(b, gen, stack.id);
    ok(await a.gql(`mutation($id: ID!) { deleteGenerator(input: { id: $id }) { deletedId } }`, { id: gen.id }));
    expect((await onA.closed).code).toBe(4401);
    expect((await onB.closed).code).toBe(4401);
    expect(b.app.delivery.connections.size).toBe(0);
  });

  it("re-checks every connected identity after a LISTEN reconnect (notifications lost meanwhile)", async () => {
    const gen = await createGenerator(a);
    const stack = await createStack(a, gen.pak);
    const socket = await generatorSocket(b, gen, stack.id);
    const heard = vi.spyOn(b.app.delivery.connections, "identityChanged").mockImplementation(() => {});
    try {
      ok(await a.gql(`mutation($id: ID!) { rotateGeneratorPak(input: { id: $id }) { pak } }`, { id: gen.id }));
    } finally {
      heard.mockRestore();
    }
    b.app.listener.simulateConnectionLoss();
    expect((await socket.closed).code).toBe(4401);
  });
});

describe("revoking an agent", () => {
  it("stops a rotated agent's streams on both brokers with 4401; the new key streams", async () => {
    const { gen, agent, stack, onA, onB } = await subscribedAgent();
    const pak = ok(
      await a.gql<{ rotateAgentPak: { pak: string } }>(`mutation($id: ID!) { rotateAgentPak(input: { id: $id }) { pak } }`, {
        id: agent.id,
      }),
    ).rotateAgentPak.pak;
    expect(await onA.closed).toMatchObject({ code: 4401 });
    expect(await onB.closed).toMatchObject({ code: 4401 });
    await vi.waitFor(() => expect(b.app.delivery.subscriptionCount + a.app.delivery.subscriptionCount).toBe(0));
    const fresh = watchDeployments(b.url, pak);
    await fresh.until((e) => e.length === 1);
    const next = await createObject(a, gen.pak, stack.id);
    await fresh.until((e) => e.some((x) => x.deploymentObject?.id === next.id));
    expect(onA.events.some((x) => x.deploymentObject?.id === next.id)).toBe(false);
    await fresh.stop();
  });

  it("closes a deactivated agent's streams on both brokers with 4403", async () => {
    const { agent, onA, onB } = await subscribedAgent();
    await setAgentStatus(a, agent.id, "INACTIVE");
    expect(await onA.closed).toMatchObject({ code: 4403 });
    expect(await onB.closed).toMatchObject({ code: 4403 });
  });

  it("closes a deleted agent's streams on both brokers with 4401", async () => {
    const { agent, onA, onB } = await subscribedAgent();
    ok(await a.gql(`mutation($id: ID!) { deleteAgent(input: { id: $id }) { deletedId } }`, { id: agent.id }));
    expect(await onA.closed).toMatchObject({ code: 4401 });
    expect(await onB.closed).toMatchObject({ code: 4401 });
  });
});

describe("a deleted generator creates nothing, however the writes interleave", () => {
  const sqlError = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (err: { code?: string }) => err.code,
    );
  /** Resolves once some backend waits on a lock: the concurrent statement is really blocked. */
  const blockedOnLock = () =>
    vi.waitFor(async () => {
      const { rows } = await a.db.sql.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      expect(rows[0].n).toBeGreaterThan(0);
    });

  it("refuses a stack of a deleted generator and an object of a deleted stack", async () => {
    const gen = await createGenerator(a);
    const stack = await createStack(a, gen.pak);
    await a.db.sql.query(`UPDATE generators SET deleted_at = now() WHERE id = $1`, [gen.id]);
    expect(await sqlError(a.db.sql.query(`INSERT INTO stacks (generator_id, name) VALUES ($1, $2)`, [gen.id, unique("s")]))).toBe(
      "23503",
    );
    expect(
      await sqlError(
        a.db.sql.query(
          `INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum) VALUES ($1, $2, 'a: 1', encode(sha256('a: 1'), 'hex'))`,
          [stack.id, gen.id],
        ),
      ),
    ).toBe("23503");
  });

  it("deletes a stack whose insert committed while the generator was being deleted", async () => {
    const gen = await createGenerator(a);
    const inserter = await a.db.sql.connect();
    try {
      await inserter.query("BEGIN");
      const { rows } = await inserter.query(`INSERT INTO stacks (generator_id, name) VALUES ($1, $2) RETURNING id`, [
        gen.id,
        unique("s"),
      ]);
      const deleting = a.db.sql.query(`UPDATE generators SET deleted_at = now() WHERE id = $1`, [gen.id]);
      await blockedOnLock();
      await inserter.query("COMMIT");
      await deleting;
      const stack = await a.db.sql.query(`SELECT deleted_at FROM stacks WHERE id = $1`, [rows[0].id]);
      expect(stack.rows[0].deleted_at).not.toBeNull();
    } finally {
      inserter.release();
    }
  });

  it("refuses a stack whose insert waited for a generator deletion that then committed", async () => {
    const gen = await createGenerator(a);
    const deleter = await a.db.sql.connect();
    try {
      await deleter.query("BEGIN");
      await deleter.query(`UPDATE generators SET deleted_at = now() WHERE id = $1`, [gen.id]);
      const inserting = sqlError(
        a.db.sql.query(`INSERT INTO stacks (generator_id, name) VALUES ($1, $2)`, [gen.id, unique("s")]),
      );
      await blockedOnLock();
      await deleter.query("COMMIT");
      expect(await inserting).toBe("23503");
    } finally {
      deleter.release();
    }
  });

  it("soft-deletes an object whose insert committed while its stack was being deleted; the marker is the latest", async () => {
    const gen = await createGenerator(a);
    const stack = await createStack(a, gen.pak);
    const inserter = await a.db.sql.connect();
    try {
      await inserter.query("BEGIN");
      await inserter.query(
        `INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum) VALUES ($1, $2, 'a: 1', encode(sha256('a: 1'), 'hex'))`,
        [stack.id, gen.id],
      );
      const deleting = a.db.sql.query(`UPDATE generators SET deleted_at = now() WHERE id = $1`, [gen.id]);
      await blockedOnLock();
      await inserter.query("COMMIT");
      await deleting;
      const { rows } = await a.db.sql.query(
        `SELECT is_deletion_marker, deleted_at FROM deployment_objects WHERE stack_id = $1 ORDER BY sequence_id`,
        [stack.id],
      );
      expect(rows.map((r) => [r.is_deletion_marker, r.deleted_at !== null])).toEqual([
        [false, true],
        [true, false],
      ]);
    } finally {
      inserter.release();
    }
  });
});
