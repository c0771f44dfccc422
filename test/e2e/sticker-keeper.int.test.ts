import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphqlRequest } from "../../agent/broker/http.js";
import { AgentTargetStateDocument } from "../../agent/generated/operations.js";
import { KubeApplier } from "../../agent/kube/applier.js";
import { createKubeClients, loadKubeConfig } from "../../agent/kube/client.js";
import { StickerKeeper } from "../../agent/stickers/index.js";
import { startTestBroker, type TestBroker } from "../broker.js";
import { type FakeKube, startFakeKube } from "../fake-kube/index.js";
import { unique } from "../factories.js";
import { deliverTask, releaseFixture, succeedTask } from "../stickers.js";

// The sticker keeper driven by hand (no interval): each checkAll() is one drift check, so what
// a check reports, and when it stays quiet, is observed exactly.
let broker: TestBroker;
let kube: FakeKube;
beforeAll(async () => {
  broker = await startTestBroker();
  kube = await startFakeKube();
});
afterAll(async () => kube.stop());

const checkedAt = async (taskId: string) =>
  (await broker.db.sql.query(`SELECT drift_checked_at, drift_detected FROM version_stickers WHERE task_id = $1`, [taskId]))
    .rows[0] as { drift_checked_at: Date | null; drift_detected: boolean } | undefined;

async function keeperWithAppliedObject() {
  const f = await releaseFixture(broker);
  const name = unique("kept");
  const yaml = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\ndata:\n  key: applied\n`;
  await deliverTask(broker, f.task, f.stack, yaml);
  await succeedTask(broker, f.task.taskId);
  const http = { baseUrl: broker.url, pak: f.agent.pak };
  const { targetState } = await graphqlRequest(http, AgentTargetStateDocument, { agentId: f.agent.id });
  const entry = targetState.find((e) => e.stackId === f.stack.id);
  if (!entry?.deploymentObject) throw new Error("the release object is not in the agent's target state");
  const obj = entry.deploymentObject;
  const { objects } = createKubeClients(loadKubeConfig(kube.kubeconfigPath));
  const logger = pino({ level: "silent" });
  const applier = new KubeApplier({ objects, agentId: f.agent.id, defaultNamespace: "default", logger });
  await applier.apply({ id: obj.id, stackId: f.stack.id, yamlContent: obj.yamlContent, yamlChecksum: obj.yamlChecksum });
  const keeper = new StickerKeeper({ objects, applier, http, agentId: f.agent.id, logger, driftCheckIntervalMs: 3_600_000 });
  keeper.onApplied({ type: "DEPLOY", stackId: f.stack.id, deploymentObject: obj });
  await keeper.checkAll();
  return { ...f, keeper, name, path: `${kube.url}/api/v1/namespaces/default/configmaps/${name}` };
}

describe("the sticker keeper's reports", () => {
  it("reports the first check, stays quiet while nothing changes, and confirms every tenth check", async () => {
    const k = await keeperWithAppliedObject();
    const first = (await checkedAt(k.task.taskId))?.drift_checked_at;
    expect(first).toBeInstanceOf(Date);
    for (let i = 0; i < 9; i++) await k.keeper.checkAll();
    expect((await checkedAt(k.task.taskId))?.drift_checked_at).toEqual(first);
    await k.keeper.checkAll();
    expect((await checkedAt(k.task.taskId))?.drift_checked_at?.getTime()).toBeGreaterThan(first!.getTime());
    await k.keeper.stop();
  });

  it("takes the environment's current drift policy from the broker's answer and heals from then on", async () => {
    const k = await keeperWithAppliedObject();
    // The environment switches to HEAL after the object (and its releaseContext saying REPORT) was delivered.
    await broker.db.sql.query(`UPDATE environments SET drift_policy = 'HEAL' WHERE id = $1`, [k.task.environmentId]);
    const edit = (value: string) =>
      fetch(`${k.path}?fieldManager=kubectl-edit`, {
        method: "PATCH",
        headers: { "content-type": "application/merge-patch+json" },
        body: JSON.stringify({ data: { key: value } }),
      });
    await edit("edited");
    await k.keeper.checkAll(); // still REPORT: drift reported, the answer says HEAL
    expect((await checkedAt(k.task.taskId))?.drift_detected).toBe(true);
    expect(kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: k.name })?.data.key).toBe("edited");
    await k.keeper.checkAll(); // HEAL now
    expect(kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: k.name })?.data.key).toBe("applied");
    expect((await checkedAt(k.task.taskId))?.drift_detected).toBe(false);
    await k.keeper.stop();
  });
});
