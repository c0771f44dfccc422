import { describe, expect, it } from "vitest";
import { ok, startTestBroker } from "../broker.js";
import { createAgent, createGenerator, createObject, createStack, targetedAgent, targetStack } from "../factories.js";
import { waitUntil } from "../subscriptions.js";
import { agentWorld } from "../agent-world.js";

const { broker, kube, launch: launchAgent } = await agentWorld();

const configMap = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\ndata:\n  v: "${value}"\n`;

const eventually = (check: () => boolean | Promise<boolean>, what: string, ms = 20_000) =>
  waitUntil(check, () => `timed out waiting for ${what}`, ms);

const launch = (pak: string, transport: "websocket" | "rest" = "websocket") => launchAgent(pak, { TRANSPORT: transport });

const setup = () => targetedAgent(broker);

const liveValue = (name: string) => kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name })?.data?.v;

async function successEvents(objectId: string) {
  const { rows } = await broker.db.sql.query("SELECT status FROM agent_events WHERE deployment_object_id = $1", [objectId]);
  return rows.map((r) => r.status as string);
}

describe("broker + agent + fake Kubernetes API", () => {
  it("applies, reports SUCCESS, re-applies a new version, prunes the old, and deletes on a deletion marker", async () => {
    const { gen, agent, stack } = await setup();
    const v1 = await createObject(broker, gen.pak, stack.id, configMap("e2e-a", "1"));
    await launch(agent.pak);
    await eventually(() => liveValue("e2e-a") === "1", "v1 applied");
    await eventually(async () => (await successEvents(v1.id)).includes("SUCCESS"), "SUCCESS reported");
    await createObject(broker, gen.pak, stack.id, configMap("e2e-b", "2"));
    await eventually(() => liveValue("e2e-b") === "2" && liveValue("e2e-a") === undefined, "v2 applied and v1 pruned");
    const writes = kube.writeCount();
    const same = await createObject(broker, gen.pak, stack.id, configMap("e2e-b", "2")); // same content, same checksum
    // The agent reports SUCCESS after applying, so any write it made for this object precedes the report.
    await eventually(async () => (await successEvents(same.id)).includes("SUCCESS"), "the unchanged object reported");
    expect(kube.writeCount()).toBe(writes);
    ok(await broker.gql(`mutation($id: ID!) { deleteStack(input: { id: $id }) { deletedId } }`, { id: stack.id }, gen.pak));
    await eventually(() => liveValue("e2e-b") === undefined, "resources deleted");
  });

  it("removes a stack's resources when it is untargeted", async () => {
    const { gen, agent, stack } = await setup();
    await createObject(broker, gen.pak, stack.id, configMap("e2e-untarget", "1"));
    await launch(agent.pak);
    await eventually(() => liveValue("e2e-untarget") === "1", "applied");
    ok(
      await broker.gql(`mutation($a: ID!, $s: ID!) { untargetStack(input: { agentId: $a, stackId: $s }) { agent { id } } }`, {
        a: agent.id,
        s: stack.id,
      }),
    );
    await eventually(() => liveValue("e2e-untarget") === undefined, "removed after untarget");
  });

  it("removes on restart the resources of a stack untargeted while the agent was stopped", async () => {
    const { gen, agent, stack } = await setup();
    const kept = await createStack(broker, gen.pak);
    await targetStack(broker, agent.id, kept.id);
    await createObject(broker, gen.pak, stack.id, configMap("e2e-offline-gone", "1"));
    await createObject(broker, gen.pak, kept.id, configMap("e2e-offline-kept", "1"));
    const first = await launch(agent.pak);
    await eventually(() => liveValue("e2e-offline-gone") === "1" && liveValue("e2e-offline-kept") === "1", "both stacks applied");
    await first.stop();
    ok(
      await broker.gql(`mutation($a: ID!, $s: ID!) { untargetStack(input: { agentId: $a, stackId: $s }) { agent { id } } }`, {
        a: agent.id,
        s: stack.id,
      }),
    );
    await launch(agent.pak);
    await eventually(() => liveValue("e2e-offline-gone") === undefined, "the untargeted stack removed after restart");
    expect(liveValue("e2e-offline-kept")).toBe("1");
  });

  it("reports a crash-looping pod of a stack as degraded deployment health", async () => {
    const { gen, agent, stack } = await setup();
    const pod =
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: e2e-crashing\n  namespace: default\nspec:\n  containers:\n    - name: app\n      image: app:1\n";
    const object = await createObject(broker, gen.pak, stack.id, pod);
    const running = await launch(agent.pak);
    await eventually(async () => (await successEvents(object.id)).includes("SUCCESS"), "pod applied");
    const ref = { apiVersion: "v1", kind: "Pod", namespace: "default", name: "e2e-crashing" };
    expect(kube.get(ref)?.metadata.labels["k8s.brokkr.io/stack"]).toBe(stack.id);
    kube.setStatus(ref, {
      containerStatuses: [{ name: "app", restartCount: 5, state: { waiting: { reason: "CrashLoopBackOff" } } }],
    });
    await running.reportHealth();
    const { rows } = await broker.db.sql.query(
      "SELECT status, summary, checked_at FROM deployment_health WHERE agent_id = $1 AND deployment_object_id = $2",
      [agent.id, object.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].status).toBe("degraded");
    expect(JSON.parse(rows[0].summary)).toEqual({
      pods_total: 1,
      pods_unhealthy: 1,
      conditions: ["default/e2e-crashing app: CrashLoopBackOff"],
    });
    expect(rows[0].checked_at).toBeInstanceOf(Date);
  });

  it("converges in forced REST mode and retries an injected 503", async () => {
    const { gen, agent, stack } = await setup();
    kube.injectFault({ status: 503, times: 2, match: { method: "PATCH" } });
    await createObject(broker, gen.pak, stack.id, configMap("e2e-rest", "1"));
    await launch(agent.pak, "rest");
    await eventually(() => liveValue("e2e-rest") === "1", "applied over REST despite 503s");
    await createObject(broker, gen.pak, stack.id, configMap("e2e-rest", "2"));
    await eventually(() => liveValue("e2e-rest") === "2", "long-poll delivered the update");
  });

  it("catches up after a websocket loss caused by a broker restart", async () => {
    const own = await startTestBroker({}, broker.db);
    const gen = await createGenerator(broker);
    const agentRow = await createAgent(broker, { activate: true });
    const stack = await createStack(broker, gen.pak);
    await targetStack(broker, agentRow.id, stack.id);
    await createObject(broker, gen.pak, stack.id, configMap("e2e-restart", "1"));
    const port = new URL(own.url).port;
    await launchAgent(agentRow.pak, { BROKER_URL: own.url });
    await eventually(() => liveValue("e2e-restart") === "1", "applied before restart");
    await own.stop();
    await createObject(broker, gen.pak, stack.id, configMap("e2e-restart", "2"));
    const again = await startTestBroker({ BROKKR__BROKER__PORT: port }, broker.db);
    await eventually(() => liveValue("e2e-restart") === "2", "caught up after restart", 40_000);
    await again.stop();
  });
});
