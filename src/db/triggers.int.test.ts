import { beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/db.js";

let db: TestDatabase;
const q = async <T = any>(sql: string, params: unknown[] = []) => (await db.sql.query(sql, params)).rows as T[];

async function generator(name = `g-${Math.random()}`) {
  return (await q<{ id: string }>("INSERT INTO generators (name) VALUES ($1) RETURNING id", [name]))[0]!.id;
}
async function stack(generatorId: string, name = `s-${Math.random()}`) {
  return (
    await q<{ id: string }>("INSERT INTO stacks (generator_id, name) VALUES ($1, $2) RETURNING id", [generatorId, name])
  )[0]!.id;
}
async function object(stackId: string, generatorId: string, content = "a: 1") {
  return (
    await q<{ id: string; sequence_id: string }>(
      `INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum)
     VALUES ($1, $2, $3::text, encode(sha256(convert_to($3::text, 'UTF8')), 'hex')) RETURNING id, sequence_id`,
      [stackId, generatorId, content],
    )
  )[0]!;
}
async function agent(name = `a-${Math.random()}`) {
  return (await q<{ id: string }>("INSERT INTO agents (name, cluster_name) VALUES ($1, 'c') RETURNING id", [name]))[0]!.id;
}

beforeAll(async () => {
  db = await createTestDatabase();
});

describe("deployment object triggers (plain SQL)", () => {
  it("assigns increasing sequence ids and ignores a client-supplied one", async () => {
    const g = await generator();
    const s = await stack(g);
    const a = await object(s, g);
    const forged = await q<{ sequence_id: string }>(
      `INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum, sequence_id)
       VALUES ($1, $2, 'b: 2', encode(sha256('b: 2'), 'hex'), 999999) RETURNING sequence_id`,
      [s, g],
    );
    expect(BigInt(forged[0]!.sequence_id)).toBe(BigInt(a.sequence_id) + 1n);
  });

  it("rejects changing the content of a deployment object", async () => {
    const g = await generator();
    const o = await object(await stack(g), g);
    await expect(q("UPDATE deployment_objects SET yaml_content = 'x: 2' WHERE id = $1", [o.id])).rejects.toThrow(/immutable/);
    await expect(q("UPDATE deployment_objects SET sequence_id = 0 WHERE id = $1", [o.id])).rejects.toThrow(/immutable/);
  });

  it("allows soft-deleting a deployment object and bumps updated_at", async () => {
    const g = await generator();
    const o = await object(await stack(g), g);
    const before = await q("SELECT updated_at FROM deployment_objects WHERE id = $1", [o.id]);
    await q("UPDATE deployment_objects SET deleted_at = now() WHERE id = $1", [o.id]);
    const after = await q("SELECT deleted_at, updated_at FROM deployment_objects WHERE id = $1", [o.id]);
    expect(after[0].deleted_at).not.toBeNull();
    expect(after[0].updated_at.getTime()).toBeGreaterThan(before[0].updated_at.getTime());
  });

  it("lets a deletion marker be updated", async () => {
    const g = await generator();
    const s = await stack(g);
    await q("UPDATE stacks SET deleted_at = now() WHERE id = $1", [s]);
    await q("UPDATE deployment_objects SET yaml_content = 'note' WHERE stack_id = $1 AND is_deletion_marker", [s]);
    const rows = await q("SELECT yaml_content FROM deployment_objects WHERE stack_id = $1 AND is_deletion_marker", [s]);
    expect(rows[0].yaml_content).toBe("note");
  });
});

describe("stack triggers", () => {
  it("soft-deleting a stack soft-deletes its objects and appends exactly one deletion marker", async () => {
    const g = await generator();
    const s = await stack(g);
    await object(s, g, "a: 1");
    await object(s, g, "a: 2");
    await q("UPDATE stacks SET deleted_at = now() WHERE id = $1", [s]);
    await q("UPDATE stacks SET deleted_at = now() WHERE id = $1", [s]); // already deleted: no second marker
    const rows = await q(
      "SELECT is_deletion_marker, deleted_at, yaml_content, yaml_checksum, generator_id FROM deployment_objects WHERE stack_id = $1 ORDER BY sequence_id",
      [s],
    );
    expect(rows.map((r) => [r.is_deletion_marker, r.deleted_at !== null])).toEqual([
      [false, true],
      [false, true],
      [true, false],
    ]);
    expect(rows[2].yaml_content).toBe("");
    expect(rows[2].yaml_checksum).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(rows[2].generator_id).toBe(g);
  });

  it("hard-deleting a stack deletes its targets, its objects' events and its objects", async () => {
    const g = await generator();
    const s = await stack(g);
    const a = await agent();
    const o = await object(s, g);
    await q("INSERT INTO agent_targets (agent_id, stack_id) VALUES ($1, $2)", [a, s]);
    await q("INSERT INTO agent_events (agent_id, deployment_object_id, status) VALUES ($1, $2, 'SUCCESS')", [a, o.id]);
    await q("INSERT INTO stack_labels (stack_id, label) VALUES ($1, 'x')", [s]);
    await q("DELETE FROM stacks WHERE id = $1", [s]);
    for (const table of ["agent_targets", "deployment_objects", "stack_labels"]) {
      expect(await q(`SELECT 1 FROM ${table} WHERE stack_id = $1`, [s])).toHaveLength(0);
    }
    expect(await q("SELECT 1 FROM agent_events WHERE deployment_object_id = $1", [o.id])).toHaveLength(0);
    expect(await q("SELECT 1 FROM agents WHERE id = $1", [a])).toHaveLength(1);
  });

  it("keeps stack names unique among live stacks only", async () => {
    const g = await generator();
    const s = await stack(g, "unique-name");
    await expect(stack(g, "unique-name")).rejects.toThrow(/duplicate key/);
    await q("UPDATE stacks SET deleted_at = now() WHERE id = $1", [s]);
    await expect(stack(g, "unique-name")).resolves.toBeTruthy();
  });

  it("maintains updated_at on update", async () => {
    const g = await generator();
    const s = await stack(g);
    const [before] = await q("SELECT updated_at FROM stacks WHERE id = $1", [s]);
    await q("UPDATE stacks SET description = 'd' WHERE id = $1", [s]);
    const [after] = await q("SELECT updated_at FROM stacks WHERE id = $1", [s]);
    expect(after.updated_at.getTime()).toBeGreaterThan(before.updated_at.getTime());
  });
});

describe("generator and agent triggers", () => {
  it("soft-deleting a generator soft-deletes its stacks, which append deletion markers", async () => {
    const g = await generator();
    const s1 = await stack(g);
    const s2 = await stack(g);
    await object(s1, g);
    await q("UPDATE generators SET deleted_at = now() WHERE id = $1", [g]);
    const stacks = await q("SELECT deleted_at FROM stacks WHERE generator_id = $1", [g]);
    expect(stacks.every((r) => r.deleted_at !== null)).toBe(true);
    const markers = await q("SELECT stack_id FROM deployment_objects WHERE is_deletion_marker AND stack_id = ANY($1::uuid[])", [
      [s1, s2],
    ]);
    expect(markers.map((m) => m.stack_id).sort()).toEqual([s1, s2].sort());
  });

  it("soft-deleting an agent soft-deletes its events", async () => {
    const g = await generator();
    const o = await object(await stack(g), g);
    const a = await agent();
    await q("INSERT INTO agent_events (agent_id, deployment_object_id, status) VALUES ($1, $2, 'SUCCESS')", [a, o.id]);
    await q("UPDATE agents SET deleted_at = now() WHERE id = $1", [a]);
    const events = await q("SELECT deleted_at FROM agent_events WHERE agent_id = $1", [a]);
    expect(events).toHaveLength(1);
    expect(events[0].deleted_at).not.toBeNull();
  });

  it("hard-deleting an agent deletes its targets, events, labels and registrations", async () => {
    const g = await generator();
    const s = await stack(g);
    const o = await object(s, g);
    const a = await agent();
    await q("INSERT INTO agent_targets (agent_id, stack_id) VALUES ($1, $2)", [a, s]);
    await q("INSERT INTO agent_events (agent_id, deployment_object_id, status) VALUES ($1, $2, 'FAILURE')", [a, o.id]);
    await q("INSERT INTO agent_labels (agent_id, label) VALUES ($1, 'l')", [a]);
    await q("INSERT INTO agent_generator_registrations (agent_id, generator_id) VALUES ($1, $2)", [a, g]);
    await q("DELETE FROM agents WHERE id = $1", [a]);
    for (const table of ["agent_targets", "agent_events", "agent_labels", "agent_generator_registrations"]) {
      expect(await q(`SELECT 1 FROM ${table} WHERE agent_id = $1`, [a])).toHaveLength(0);
    }
  });

  it("refuses labels longer than 64 characters", async () => {
    const a = await agent();
    await expect(q("INSERT INTO agent_labels (agent_id, label) VALUES ($1, $2)", [a, "x".repeat(65)])).rejects.toThrow(
      /too long/,
    );
  });
});
