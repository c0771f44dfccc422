import { describe, expect, it } from "vitest";
import { DIAGNOSTIC_LIMITS } from "../../agent/diagnostics/limits.js";
import { ok } from "../broker.js";
import { READ, requestFor } from "../diagnostics.js";
import { createObject, targetedAgent } from "../factories.js";
import { waitUntil } from "../subscriptions.js";
import { agentWorld } from "../agent-world.js";

const { broker, kube, launch: launchAgent } = await agentWorld();

// Over the websocket only the push can bring the request in time; over REST the poll must.
const launch = (pak: string, transport: "websocket" | "rest") =>
  launchAgent(pak, { TRANSPORT: transport, POLLING_INTERVAL: transport === "websocket" ? "600" : "1" });

const deployment = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: default
spec:
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata: { labels: { app: ${name} } }
    spec: { containers: [{ name: app, image: nginx }] }
`;

/** What a controller and the kubelet would make of the Deployment: a crash-looping pod, its events and log. */
function runWorkload(name: string) {
  const pod = kube.create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `${name}-7d4b9`, namespace: "default", labels: { app: name } },
    spec: {
      containers: [
        { name: "app", image: "nginx" },
        { name: "sidecar", image: "envoy" },
      ],
    },
  });
  const ref = { apiVersion: "v1", kind: "Pod", namespace: "default", name: pod.metadata.name };
  kube.setStatus(ref, {
    phase: "Running",
    containerStatuses: [
      { name: "app", ready: false, restartCount: 4, image: "nginx", state: { waiting: { reason: "CrashLoopBackOff" } } },
    ],
  });
  const event = (eventName: string, involved: string, reason: string, uid?: string) =>
    kube.create({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: eventName, namespace: "default" },
      involvedObject: { kind: "Pod", name: involved, namespace: "default", ...(uid ? { uid } : {}) },
      reason,
      message: `${reason} for ${involved}`,
      type: "Warning",
      lastTimestamp: new Date().toISOString(),
    });
  event(`${name}.backoff`, pod.metadata.name, "BackOff", pod.metadata.uid);
  event(`${name}.unrelated`, "someone-else", "Unrelated");
  const lines = Array.from({ length: 150 }, (_, i) => `line ${i + 1}`).join("\n");
  kube.setPodLog({ namespace: "default", pod: pod.metadata.name, container: "app" }, `${lines}\n`);
  return pod.metadata.name as string;
}

async function diagnose(transport: "websocket" | "rest", name: string) {
  const { gen, agent, stack } = await targetedAgent(broker);
  const object = await createObject(broker, gen.pak, stack.id, deployment(name));
  await launch(agent.pak, transport);
  await waitUntil(
    () => kube.get({ apiVersion: "apps/v1", kind: "Deployment", namespace: "default", name }) !== undefined,
    () => "the Deployment was not applied",
  );
  const podName = runWorkload(name);
  const request = await requestFor(broker, object.id, agent.id);
  let read: any;
  await waitUntil(
    async () => (read = ok(await broker.gql(READ, { id: request.id })).diagnosticRequest).status === "COMPLETED",
    () => `request is ${read?.status}`,
    30_000,
  );
  return { podName, result: read.result };
}

describe("diagnostics end to end: broker, real agent, fake Kubernetes API", () => {
  it.each(["websocket", "rest"] as const)("collects pod status, events and a log tail over %s", async (transport) => {
    const { podName, result } = await diagnose(transport, `diag-${transport}`);
    const pods = JSON.parse(result.podStatuses);
    expect(pods).toHaveLength(1);
    expect(pods[0]).toMatchObject({ name: podName, phase: "Running" });
    expect(pods[0].containers[0]).toMatchObject({
      name: "app",
      restartCount: 4,
      state: { waiting: { reason: "CrashLoopBackOff" } },
    });
    const events = JSON.parse(result.events);
    expect(events.map((e: { reason: string }) => e.reason)).toEqual(["BackOff"]);
    const tails = JSON.parse(result.logTails);
    const app = tails.find((t: { container: string }) => t.container === "app");
    const lines = app.log.trimEnd().split("\n");
    expect(lines).toHaveLength(DIAGNOSTIC_LIMITS.logLines);
    expect([lines[0], lines.at(-1)]).toEqual(["line 51", "line 150"]);
    expect(tails.find((t: { container: string }) => t.container === "sidecar")).toMatchObject({ log: "" });
  });
});
