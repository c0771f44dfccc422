import { KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createAgentRuntime, type AgentRuntime } from "../../agent/app.js";
import { loadAgentConfig } from "../../agent/config.js";
import { ok, startTestBroker, type TestBroker } from "../broker.js";
import { createAgent, createGenerator, createObject, createStack, deleteStack, targetStack } from "../factories.js";
import { startFakeKube, type FakeKube } from "../fake-kube/index.js";

let broker: TestBroker;
let kube: FakeKube;
let agent: AgentRuntime | undefined;

beforeAll(async () => {
  broker = await startTestBroker();
  kube = await startFakeKube();
});
afterAll(async () => {
  await agent?.stop();
  await kube.stop();
});

const configMap = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  v: "${value}"\n`;
const cm = (name: string) => kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name });

/** As Brokkr's agent leaves an object (reference §1.4): annotations only, applied as brokkr-controller with force. */
async function appliedByBrokkr(
  agentId: string,
  stackId: string,
  object: { id: string; yamlChecksum: string },
  name: string,
  value: string,
) {
  const kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);
  const annotations = {
    "k8s.brokkr.io/stack": stackId,
    "k8s.brokkr.io/deployment-checksum": object.yamlChecksum,
    "brokkr.io/deployment-object-id": object.id,
    "k8s.brokkr.io/last-config-applied": object.yamlChecksum,
    "brokkr.io/owner-id": agentId,
  };
  const manifest = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: "default", annotations },
    data: { v: value },
  };
  await KubernetesObjectApi.makeApiClient(kc).patch(
    manifest as KubernetesObject,
    undefined,
    undefined,
    "brokkr-controller",
    true,
    PatchStrategy.ServerSideApply,
  );
}

describe("our agent replacing Brokkr's agent in a cluster", () => {
  it("keeps the targeted stack in place, deletes the deleted one and removes the untargeted one", async () => {
    const gen = await createGenerator(broker);
    const row = await createAgent(broker, { activate: true });
    const [kept, deleted, untargeted] = [
      await createStack(broker, gen.pak),
      await createStack(broker, gen.pak),
      await createStack(broker, gen.pak),
    ];
    for (const stack of [kept, deleted, untargeted]) await targetStack(broker, row.id, stack.id);
    const objects = [
      await createObject(broker, gen.pak, kept.id, configMap("takeover-kept", "1")),
      await createObject(broker, gen.pak, deleted.id, configMap("takeover-deleted", "1")),
      await createObject(broker, gen.pak, untargeted.id, configMap("takeover-untargeted", "1")),
    ];
    await appliedByBrokkr(row.id, kept.id, objects[0]!, "takeover-kept", "1");
    await appliedByBrokkr(row.id, deleted.id, objects[1]!, "takeover-deleted", "1");
    await appliedByBrokkr(row.id, untargeted.id, objects[2]!, "takeover-untargeted", "1");
    const uid = cm("takeover-kept")?.metadata.uid;
    // Brokkr's agent is gone; meanwhile one stack is deleted and another untargeted.
    await deleteStack(broker, deleted.id);
    ok(
      await broker.gql(`mutation($a: ID!, $s: ID!) { untargetStack(input: { agentId: $a, stackId: $s }) { agent { id } } }`, {
        a: row.id,
        s: untargeted.id,
      }),
    );

    const result = loadAgentConfig({
      BROKKR__AGENT__BROKER_URL: broker.url,
      BROKKR__AGENT__PAK: row.pak,
      BROKKR__AGENT__KUBECONFIG_PATH: kube.kubeconfigPath,
      BROKKR__AGENT__HEALTH_PORT: "0",
      BROKKR__AGENT__LOG__LEVEL: "silent",
    });
    if (!result.ok) throw new Error(result.problems.join("; "));
    agent = createAgentRuntime(result.config, { logger: pino({ level: "silent" }) });
    await agent.start();

    await vi.waitFor(() => expect([cm("takeover-deleted"), cm("takeover-untargeted")]).toEqual([undefined, undefined]), {
      timeout: 20_000,
    });
    await vi.waitFor(
      async () => {
        const { rows } = await broker.db.sql.query("SELECT status FROM agent_events WHERE deployment_object_id = $1", [
          objects[0]!.id,
        ]);
        expect(rows.map((r) => r.status)).toContain("SUCCESS");
      },
      { timeout: 20_000 },
    );
    const live = cm("takeover-kept");
    expect(live?.metadata.uid).toBe(uid);
    expect(live?.metadata.labels["k8s.brokkr.io/stack"]).toBe(kept.id);
    expect(live?.metadata.managedFields.map((e: { manager: string }) => e.manager)).not.toContain("brokkr-controller");
  });
});
