import { beforeAll, describe, expect, it } from "vitest";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import {
  backdateObject,
  createObject,
  createStack,
  reportEvent,
  setAgentStatus,
  targetStack,
  targetedAgent,
} from "../../test/factories.js";

let broker: TestBroker;
let patient: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker();
  // Same database, a longer overdue threshold: the setting, not a constant, decides.
  patient = await startTestBroker({ BROKKR__FLEET__OVERDUE_SECONDS: "3600" }, broker.db);
});

interface Verdict {
  failing: boolean;
  failedObjects: number;
  overdueObjects: number;
  pendingObjects: number;
  lastEvent: { status: string } | null;
}

async function verdict(agentId: string, on = broker, pak = on.adminPak): Promise<Verdict> {
  const data = ok(
    await on.gql<{ agent: { fleetStatus: Verdict } }>(
      `query($id: ID!) { agent(id: $id) { fleetStatus { failing failedObjects overdueObjects pendingObjects lastEvent { status } } } }`,
      { id: agentId },
      pak,
    ),
  );
  return data.agent.fleetStatus;
}

const age = (objectId: string, minutes: number) => backdateObject(broker, objectId, minutes);

describe("an agent failing", () => {
  it("is failing while its latest report on any stack's latest object is FAILURE, whatever its newest event says", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const other = await createStack(broker, gen.pak);
    await targetStack(broker, agent.id, other.id);
    const bad = await createObject(broker, gen.pak, stack.id);
    const good = await createObject(broker, gen.pak, other.id);
    await reportEvent(broker, agent.pak, bad.id, "FAILURE");
    await reportEvent(broker, agent.pak, good.id, "SUCCESS");
    // Its newest event is a success: the old rule (newest event only) said healthy.
    expect(await verdict(agent.id)).toMatchObject({ failing: true, failedObjects: 1, lastEvent: { status: "SUCCESS" } });
    // A later success on the same object ends it.
    await reportEvent(broker, agent.pak, bad.id, "SUCCESS");
    expect(await verdict(agent.id)).toMatchObject({ failing: false, failedObjects: 0 });
  });

  it("does not count a failure on an object the stack has moved past", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const first = await createObject(broker, gen.pak, stack.id);
    await reportEvent(broker, agent.pak, first.id, "FAILURE");
    expect((await verdict(agent.id)).failing).toBe(true);
    await createObject(broker, gen.pak, stack.id);
    expect(await verdict(agent.id)).toMatchObject({ failing: false, failedObjects: 0, pendingObjects: 1 });
  });

  it("is failing when the latest object's deployment health is failing, after a successful apply", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const object = await createObject(broker, gen.pak, stack.id);
    await reportEvent(broker, agent.pak, object.id, "SUCCESS");
    expect((await verdict(agent.id)).failing).toBe(false);
    const res = await fetch(`${broker.url}/api/v1/agents/${agent.id}/health-status`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${agent.pak}`, "content-type": "application/json" },
      body: JSON.stringify({
        deployment_objects: [{ id: object.id, status: "failing", summary: {}, checked_at: new Date().toISOString() }],
      }),
    });
    expect(res.status).toBe(200);
    expect(await verdict(agent.id)).toMatchObject({ failing: true, failedObjects: 0 });
  });
});

describe("objects pending too long", () => {
  it("counts unreported latest objects older than the configured threshold", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const object = await createObject(broker, gen.pak, stack.id);
    expect(await verdict(agent.id)).toMatchObject({ pendingObjects: 1, overdueObjects: 0 });
    await age(object.id, 10);
    expect(await verdict(agent.id)).toMatchObject({ pendingObjects: 1, overdueObjects: 1 });
    // Ten minutes is within the other broker's hour.
    expect((await verdict(agent.id, patient)).overdueObjects).toBe(0);
    await age(object.id, 61);
    expect((await verdict(agent.id, patient)).overdueObjects).toBe(1);
    await reportEvent(broker, agent.pak, object.id, "FAILURE");
    expect(await verdict(agent.id)).toMatchObject({ pendingObjects: 0, overdueObjects: 0, failing: true });
  });

  it("counts nothing for an agent that does not receive", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const object = await createObject(broker, gen.pak, stack.id);
    await age(object.id, 10);
    await setAgentStatus(broker, agent.id, "INACTIVE");
    expect(await verdict(agent.id)).toMatchObject({ pendingObjects: 0, overdueObjects: 0 });
  });

  it("rejects a threshold outside 1 s to 7 days at start", async () => {
    await expect(startTestBroker({ BROKKR__FLEET__OVERDUE_SECONDS: "0" }, broker.db)).rejects.toThrow(/OVERDUE_SECONDS/);
  });
});
