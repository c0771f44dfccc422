import { beforeAll, describe, expect, it, vi } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { createObject, targetedAgent } from "../../test/factories.js";
import { nextOpened } from "../../test/subscriptions.js";

// Every waiting long-poll is woken and re-queries on each change that concerns it (any stack's
// label change concerns all): 2,000 idle polls of one agent made one label change take 2.4 s and
// stalled an unrelated request for 1.3 s. They are capped per agent like subscriptions per PAK.
const CAP = 3;
let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({ BROKKR__BROKER__MAX_SUBSCRIPTIONS_PER_IDENTITY: String(CAP) });
});

async function poll(agent: { id: string; pak: string }, after: string) {
  const res = await fetch(`${broker.url}/api/v1/agents/${agent.id}/deployment-objects?after=${after}&wait=30`, {
    headers: { authorization: `Bearer ${agent.pak}` },
  });
  return { status: res.status, body: await res.json() };
}

describe("long-polls of one agent", () => {
  it(`refuses a poll past ${CAP} waiting ones with 429 TOO_MANY_REQUESTS, leaves other agents alone, and gives slots back`, async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const other = await targetedAgent(broker);
    const first = await createObject(broker, gen.pak, stack.id);
    const theirFirst = await createObject(broker, other.gen.pak, other.stack.id);
    const open = async (who: { id: string; pak: string }, after: string) => {
      const opened = nextOpened(broker, `longPoll:${who.id}`);
      const answer = poll(who, after);
      await opened;
      return { answer }; // wrapped, or awaiting open() would wait for the answer too
    };
    const mine = [];
    for (let i = 0; i < CAP; i++) mine.push(await open(agent, first.sequenceId));
    const refused = await poll(agent, first.sequenceId);
    expect(refused).toEqual({
      status: 429,
      body: { code: "TOO_MANY_REQUESTS", message: `at most ${CAP} long-polls of one agent may wait at once` },
    });
    // The cap is per agent: another agent's polls wait as usual.
    const theirs = [];
    for (let i = 0; i < CAP; i++) theirs.push(await open(other.agent, theirFirst.sequenceId));
    const next = await createObject(broker, gen.pak, stack.id);
    const theirNext = await createObject(broker, other.gen.pak, other.stack.id);
    for (const w of await Promise.all(mine.map((m) => m.answer)))
      expect(w.body.deployment_objects.map((o: { id: string }) => o.id)).toEqual([next.id]);
    for (const w of await Promise.all(theirs.map((m) => m.answer)))
      expect(w.body.deployment_objects.map((o: { id: string }) => o.id)).toEqual([theirNext.id]);
    // Answered polls give their slots back.
    const later = await open(agent, next.sequenceId);
    const last = await createObject(broker, gen.pak, stack.id);
    expect((await later.answer).body.deployment_objects.map((o: { id: string }) => o.id)).toEqual([last.id]);
  });

  it("gives a slot back as soon as a waiting poll's client goes away", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const first = await createObject(broker, gen.pak, stack.id);
    const clients = [];
    for (let i = 0; i < CAP; i++) {
      const client = new AbortController();
      const opened = nextOpened(broker, `longPoll:${agent.id}`);
      const answer = fetch(`${broker.url}/api/v1/agents/${agent.id}/deployment-objects?after=${first.sequenceId}&wait=60`, {
        headers: { authorization: `Bearer ${agent.pak}` },
        signal: client.signal,
      }).catch(() => "aborted");
      await opened;
      clients.push({ client, answer });
    }
    expect((await poll(agent, first.sequenceId)).status).toBe(429);
    for (const c of clients) c.client.abort();
    await Promise.all(clients.map((c) => c.answer));
    // Without the abort the slots stay taken for the whole minute and every poll is 429; with it,
    // a poll waits again as soon as the server has seen the sockets close.
    const shortPoll = () =>
      fetch(`${broker.url}/api/v1/agents/${agent.id}/deployment-objects?after=${first.sequenceId}&wait=1`, {
        headers: { authorization: `Bearer ${agent.pak}` },
      }).then((res) => res.status);
    await vi.waitFor(async () => expect(await shortPoll()).toBe(200), { timeout: 15_000, interval: 100 });
  });
});
