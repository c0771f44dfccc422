import { describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { ok } from "../broker.js";
import { createObject, targetedAgent } from "../factories.js";
import { wsClient } from "../subscriptions.js";
import { agentWorld } from "../agent-world.js";

const { broker, kube, launch: launchAgent } = await agentWorld();

let pods = 0;
const podYaml = (name: string) =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: default\nspec:\n  containers:\n    - name: app\n      image: app:1\n`;

/** A real agent (websocket unless told) whose telemetry runs only when the test calls collectTelemetry. */
const launch = (pak: string, env: Record<string, string> = {}) => launchAgent(pak, { TELEMETRY__INTERVAL: "3600", ...env });

/** A stack with one applied pod, its agent connected: ready for the pod's logs and events. */
async function podRunning(env: Record<string, string> = {}) {
  const { gen, agent, stack } = await targetedAgent(broker);
  const pod = `tele-${++pods}`;
  const object = await createObject(broker, gen.pak, stack.id, podYaml(pod));
  const runtime = await launch(agent.pak, env);
  // The agent reports SUCCESS once the pod is applied: from then on the stack is one it runs.
  const applied = async () =>
    (await broker.db.sql.query("SELECT 1 FROM agent_events WHERE deployment_object_id = $1 AND status = 'SUCCESS'", [object.id]))
      .rowCount;
  await vi.waitFor(async () => expect(await applied()).toBe(1), { timeout: 20_000 });
  await vi.waitFor(() => expect(runtime.status().connection).toBe("connected"), { timeout: 20_000 });
  return { gen, agent, stack, pod, runtime };
}

async function history(pak: string, stackId: string, what: "events" | "logs") {
  const res = await fetch(`${broker.url}/api/v1/stacks/${stackId}/${what}`, { headers: { authorization: pak } });
  expect(res.status).toBe(200);
  return (await res.json()) as { events?: Record<string, unknown>[]; lines?: Record<string, unknown>[] };
}

describe("telemetry from a real agent through the broker to its readers", () => {
  it("sends the stack's pod log lines and Kubernetes events, readable over REST and tailed live", async () => {
    const { gen, stack, pod, runtime } = await podRunning();
    const live: string[] = [];
    const client = wsClient(broker.url, gen.pak);
    const tails = broker.app.telemetry.feed.tailCount;
    client.subscribe<{ stackTelemetry: { __typename: string; line?: string } }>(
      {
        query: `subscription($s: ID!) { stackTelemetry(stackId: $s) { __typename ... on PodLogLine { line } } }`,
        variables: { s: stack.id },
      },
      {
        next: (r) => r.data && live.push(r.data.stackTelemetry.line ?? r.data.stackTelemetry.__typename),
        error: () => {},
        complete: () => {},
      },
    );
    const socket = new WebSocket(`${broker.url.replace(/^http/, "ws")}/api/v1/stacks/${stack.id}/live`, [
      `brokkr.pak.${gen.pak}`,
      "brokkr.v1",
    ]);
    const frames: { type: string; body: Record<string, unknown> }[] = [];
    socket.on("message", (data) => frames.push(JSON.parse(data.toString())));
    await new Promise((resolve) => socket.once("open", resolve));
    await vi.waitFor(() => expect(broker.app.telemetry.feed.tailCount).toBe(tails + 2), { timeout: 15_000 });

    kube.appendPodLog({ pod, container: "app" }, [{ text: "starting" }, { text: "listening on :8080" }]);
    kube.recordEvent({
      involvedObject: { apiVersion: "v1", kind: "Pod", namespace: "default", name: pod },
      reason: "Pulled",
      message: "Container image app:1 already present",
    });
    await runtime.collectTelemetry();

    const logs = await history(gen.pak, stack.id, "logs");
    expect(logs.lines?.map((l) => [l.pod, l.container, l.line])).toEqual([
      [pod, "app", "starting"],
      [pod, "app", "listening on :8080"],
    ]);
    const events = await history(gen.pak, stack.id, "events");
    expect(events.events?.map((e) => [e.reason, (e.involved_object as { name: string }).name])).toEqual([["Pulled", pod]]);
    // A batch reaches a tail as stored: its events, then its lines.
    await vi.waitFor(() => expect(live).toEqual(["KubeEvent", "starting", "listening on :8080"]));
    await vi.waitFor(() => expect(frames.map((f) => f.type).sort()).toEqual(["k8s_event", "pod_log_line", "pod_log_line"]));

    // A second collection sends only what is new.
    kube.appendPodLog({ pod, container: "app" }, [{ text: "ready" }]);
    await runtime.collectTelemetry();
    expect((await history(gen.pak, stack.id, "logs")).lines?.map((l) => l.line)).toEqual([
      "starting",
      "listening on :8080",
      "ready",
    ]);
    socket.close();
    await client.dispose();
  });

  it("drops lines over the per-container rate and reports them as one rate_limit gap", async () => {
    const { gen, stack, pod, runtime } = await podRunning({ TELEMETRY__LOG_LINES_PER_SECOND: "5" });
    const at = Date.now();
    kube.appendPodLog(
      { pod, container: "app" },
      Array.from({ length: 20 }, (_, i) => ({ ts: new Date(at + i), text: `line ${i}` })),
    );
    await runtime.collectTelemetry();
    expect((await history(gen.pak, stack.id, "logs")).lines?.map((l) => l.line)).toEqual([0, 1, 2, 3, 4].map((i) => `line ${i}`));
    const gaps = ok(
      await broker.gql(
        `query($id: ID!) { stack(id: $id) { logGaps { edges { node { droppedCount reason sinceTs } } } } }`,
        { id: stack.id },
        gen.pak,
      ),
    ).stack.logGaps.edges.map((e: { node: unknown }) => e.node);
    expect(gaps).toEqual([{ droppedCount: 15, reason: "RATE_LIMIT", sinceTs: new Date(at + 5).toISOString() }]);
    expect(runtime.status().connection).toBe("connected");
  });

  it("sends nothing from an agent on REST, as Brokkr's telemetry has no REST path", async () => {
    const { gen, stack, pod, runtime } = await podRunning({ TRANSPORT: "rest" });
    kube.appendPodLog({ pod, container: "app" }, [{ text: "over rest" }]);
    await runtime.collectTelemetry();
    expect((await history(gen.pak, stack.id, "logs")).lines).toEqual([]);
  });
});
