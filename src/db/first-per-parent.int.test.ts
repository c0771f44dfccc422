import { beforeAll, describe, expect, it } from "vitest";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createGenerator, createStack, unique } from "../../test/factories.js";
import { MAX_LIST_ARGUMENT } from "../validation.js";

// Unpaginated lists are costed at MAX_LIST_ARGUMENT items; a stack targeted at more agents must
// not make one request load them all (the attack: stacks(first: 500) { targetedAgents }).
let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});

describe("unpaginated link lists", () => {
  it(`return at most ${MAX_LIST_ARGUMENT} targeted agents per stack, oldest first, while reachedAgents pages through all`, async () => {
    const gen = await createGenerator(broker);
    const stack = await createStack(broker, gen.pak);
    const count = MAX_LIST_ARGUMENT + 5;
    const prefix = unique("fleet");
    // Many agents targeted by SQL, as a large fleet would be, in creation order.
    await broker.db.sql.query(
      `WITH a AS (INSERT INTO agents (name, cluster_name, status)
                  SELECT $1 || ':' || n, 'c', 'ACTIVE' FROM generate_series(1, $2) n RETURNING id, name)
       INSERT INTO agent_targets (agent_id, stack_id, created_at)
       SELECT a.id, $3::uuid, now() + (split_part(a.name, ':', 2)::int * interval '1 ms') FROM a`,
      [prefix, count, stack.id],
    );
    const data = ok(
      await broker.gql<{ stack: { targetedAgents: { name: string }[]; reachedAgents: { edges: unknown[] } } }>(
        `query($id: ID!) { stack(id: $id) { targetedAgents { name } reachedAgents(first: 100) { edges { cursor } } } }`,
        { id: stack.id },
      ),
    );
    expect(data.stack.targetedAgents).toHaveLength(MAX_LIST_ARGUMENT);
    expect(data.stack.targetedAgents.map((a) => a.name)).toEqual(
      Array.from({ length: MAX_LIST_ARGUMENT }, (_, i) => `${prefix}:${i + 1}`),
    );
    expect(data.stack.reachedAgents.edges).toHaveLength(count);
  });
});
