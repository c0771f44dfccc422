import { beforeAll, describe, expect, it } from "vitest";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { CLAIM, SUBMIT, diagnosticWorld, expire, requestFor, sampleResult } from "../../test/diagnostics.js";
import { waitUntil, wsClient } from "../../test/subscriptions.js";
import { createUser } from "../../test/users.js";

let broker: TestBroker;
let other: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker();
  other = await startTestBroker({}, broker.db);
});

interface Change {
  kind: "UPDATED" | "REMOVED" | "RESYNC";
  diagnosticRequestId: string | null;
  diagnosticRequest: { id: string; status: string; agent: { id: string } } | null;
}

const CHANGES = `subscription { diagnosticRequestChanges { kind diagnosticRequestId diagnosticRequest { id status agent { id } } } }`;

async function watch(on: TestBroker, pak: string) {
  const changes: Change[] = [];
  const errors: unknown[] = [];
  const client = wsClient(on.url, pak);
  const before = on.app.diagnostics.changes.opened;
  client.subscribe<{ diagnosticRequestChanges: Change }>(
    { query: CHANGES },
    {
      next: (r) => (r.data ? changes.push(r.data.diagnosticRequestChanges) : errors.push(r.errors)),
      error: (e) => errors.push(e),
      complete: () => {},
    },
  );
  await waitUntil(
    () => on.app.diagnostics.changes.opened > before || errors.length > 0,
    () => "diagnosticRequestChanges was neither opened nor refused",
  );
  const until = async (check: (c: Change) => boolean) => {
    await waitUntil(
      () => changes.some(check),
      () => JSON.stringify({ changes, errors }),
    );
    return changes.find(check) as Change;
  };
  return { errors, until, stop: () => client.dispose() };
}

describe("diagnosticRequestChanges", () => {
  it("tells a viewer of a request made, claimed, completed on another broker, and removed by the clean-up", async () => {
    const viewer = await createUser(broker, "VIEWER");
    const w = await watch(broker, viewer.pak);
    expect(w.errors).toEqual([]);
    const world = await diagnosticWorld(other);
    const req = await requestFor(other, world.object.id, world.agent.id);
    const status = (s: string) => (c: Change) => c.diagnosticRequestId === req.id && c.diagnosticRequest?.status === s;
    expect((await w.until(status("PENDING"))).diagnosticRequest?.agent.id).toBe(world.agent.id);
    ok(await other.gql(CLAIM, { id: req.id }, world.agent.pak));
    await w.until(status("CLAIMED"));
    ok(await other.gql(SUBMIT, sampleResult(req.id), world.agent.pak));
    await w.until(status("COMPLETED"));
    const stale = await requestFor(other, world.object.id, world.agent.id);
    await expire(other, stale.id);
    await other.app.scheduler.runNow("diagnostic-cleanup");
    const removed = await w.until((c) => c.diagnosticRequestId === stale.id && c.kind === "REMOVED");
    expect(removed.diagnosticRequest).toBeNull();
    await w.stop();
  });

  it("refuses an agent before opening a stream", async () => {
    const world = await diagnosticWorld(broker);
    const before = broker.app.diagnostics.changes.opened;
    const w = await watch(broker, world.agent.pak);
    expect((w.errors.flat() as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(broker.app.diagnostics.changes.opened).toBe(before);
    await w.stop();
  });
});
