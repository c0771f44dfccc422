import { describe, expect, it } from "vitest";
import { agentWorld } from "../agent-world.js";
import { unique } from "../factories.js";
import { deliverTask, releaseFixture, succeedTask } from "../stickers.js";
import { waitUntil } from "../subscriptions.js";

// The real agent against the fake Kubernetes API, release rows by SQL (test/stickers.ts) standing
// in for the rollout runner. Drift checks run every 200 ms here; the tests wait on what they cause.
const { broker, kube, launch } = await agentWorld();

const eventually = (check: () => boolean | Promise<boolean>, what: string, ms = 20_000) =>
  waitUntil(check, () => `timed out waiting for ${what}`, ms);

const configMap = (name: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\ndata:\n  key: applied\n  other: kept\n`;

const cmRef = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name });

async function sticker(taskId: string) {
  const { rows } = await broker.db.sql.query(
    `SELECT id, content_hash, sticker_content, drift_detected, drift_details, drift_checked_at, healed_at
       FROM version_stickers WHERE task_id = $1`,
    [taskId],
  );
  return rows[0] as
    | {
        content_hash: string;
        sticker_content: Record<string, unknown>;
        drift_detected: boolean;
        drift_details: Record<string, unknown>[];
        healed_at: Date | null;
      }
    | undefined;
}

async function driftEvents(taskId: string) {
  const { rows } = await broker.db.sql.query(
    `SELECT event_type, data FROM domain_events WHERE event_type LIKE 'release.drift_%' AND data->>'task_id' = $1 ORDER BY seq`,
    [taskId],
  );
  return rows as { event_type: string; data: { items: Record<string, unknown>[]; healed: boolean } }[];
}

/** As a person or another tool would write to the cluster: an HTTP request with its own field manager. */
async function kubeRequest(
  method: string,
  path: string,
  manager: string,
  body?: unknown,
  contentType = "application/merge-patch+json",
) {
  const res = await fetch(
    `${kube.url}${path}?fieldManager=${manager}${method === "PATCH" && contentType.includes("apply") ? "&force=true" : ""}`,
    {
      method,
      headers: { "content-type": contentType },
      body: body === undefined ? undefined : JSON.stringify(body),
    },
  );
  expect(res.status, await res.clone().text()).toBeLessThan(300);
}

/** A release object applied by a fresh agent, its task succeeded, and its sticker reported. */
async function applied(opts: { driftPolicy?: "REPORT" | "HEAL" } = {}) {
  const f = await releaseFixture(broker, opts);
  const name = unique("rel-cm");
  const { objectId } = await deliverTask(broker, f.task, f.stack, configMap(name));
  await launch(f.agent.pak, { DRIFT_CHECK_INTERVAL: "0.2" });
  await eventually(async () => {
    const { rows } = await broker.db.sql.query(
      `SELECT 1 FROM agent_events WHERE deployment_object_id = $1 AND status = 'SUCCESS'`,
      [objectId],
    );
    return rows.length > 0;
  }, "the agent's SUCCESS");
  await succeedTask(broker, f.task.taskId);
  await eventually(async () => (await sticker(f.task.taskId)) !== undefined, "the sticker reported");
  // The first drift check after the report says "no drift".
  await eventually(
    async () =>
      (
        await broker.db.sql.query(`SELECT 1 FROM version_stickers WHERE task_id = $1 AND drift_checked_at IS NOT NULL`, [
          f.task.taskId,
        ])
      ).rows.length > 0,
    "a first drift check",
  );
  return { ...f, name, objectId, path: `/api/v1/namespaces/default/configmaps/${name}` };
}

const reasons = (items: Record<string, unknown>[]) => items.map((i) => `${i.reason}:${i.path ?? ""}:${i.manager ?? ""}`).sort();

describe("version stickers and drift with the real agent", () => {
  it("writes the sticker ConfigMap in the sticker namespace (created) and reports it with the same content hash", async () => {
    const f = await applied();
    const cm = kube.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "brokkr-system",
      name: `brokkr-sticker-${f.task.environmentName}`,
    });
    expect(kube.get({ apiVersion: "v1", kind: "Namespace", name: "brokkr-system" })).toBeDefined();
    expect(cm?.data).toMatchObject({
      release: f.task.releaseName,
      releaseId: f.task.releaseId,
      promotion: f.task.promotionId,
      environment: f.task.environmentName,
      appliedChecksum: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(JSON.parse(cm?.data.digests)).toEqual([expect.objectContaining({ digest: f.task.digest, tag: "1.2.3" })]);
    expect(cm?.metadata.managedFields.map((e: { manager: string }) => e.manager)).toEqual(["brokkr-agent"]);
    const row = await sticker(f.task.taskId);
    expect(row).toMatchObject({ content_hash: cm?.data.contentHash, drift_detected: false });
    expect(row?.sticker_content).toMatchObject({ release: f.task.releaseName, environment: f.task.environmentName });
  });

  it("reports a field changed in the cluster as CHANGED, with release.drift_detected in domain_events", async () => {
    const f = await applied();
    await kubeRequest("PATCH", f.path, "kubectl-edit", { data: { key: "edited" } });
    await eventually(async () => (await sticker(f.task.taskId))?.drift_detected === true, "drift recorded");
    const row = await sticker(f.task.taskId);
    expect(reasons(row?.drift_details ?? [])).toEqual(["CHANGED:data.key:", "FOREIGN_MANAGER:data.key:kubectl-edit"]);
    const events = await driftEvents(f.task.taskId);
    expect(events.map((e) => e.event_type)).toEqual(["release.drift_detected"]);
    expect(reasons(events[0]?.data.items ?? [])).toEqual(reasons(row?.drift_details ?? []));
    // Put back by the same hand, the value holds again but kubectl-edit still owns the field: the
    // drift is another one now, and is published as such.
    await kubeRequest("PATCH", f.path, "kubectl-edit", { data: { key: "applied" } });
    await eventually(async () => (await driftEvents(f.task.taskId)).length === 2, "the changed drift");
    const [, second] = await driftEvents(f.task.taskId);
    expect(second?.event_type).toBe("release.drift_detected");
    expect(reasons(second?.data.items ?? [])).toEqual(["FOREIGN_MANAGER:data.key:kubectl-edit"]);
  });

  it("reports a field another field manager now owns as FOREIGN_MANAGER naming it", async () => {
    const f = await applied();
    // Helm applies the same value: no conflict, the field is shared, and the agent no longer holds it alone.
    const body = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: f.name, namespace: "default" },
      data: { other: "kept" },
    };
    await kubeRequest("PATCH", f.path, "helm", body, "application/apply-patch+yaml");
    await eventually(async () => (await sticker(f.task.taskId))?.drift_detected === true, "drift recorded");
    expect(reasons((await sticker(f.task.taskId))?.drift_details ?? [])).toEqual(["FOREIGN_MANAGER:data.other:helm"]);
  });

  it("reports a deleted resource and a deleted sticker as DELETED and STICKER_CHANGED", async () => {
    const f = await applied();
    await kubeRequest("DELETE", f.path, "kubectl");
    await kubeRequest(
      "DELETE",
      `/api/v1/namespaces/brokkr-system/configmaps/brokkr-sticker-${f.task.environmentName}`,
      "kubectl",
    );
    await eventually(async () => (await sticker(f.task.taskId))?.drift_details.length === 2, "drift recorded");
    expect(reasons((await sticker(f.task.taskId))?.drift_details ?? [])).toEqual(["DELETED::", "STICKER_CHANGED::"]);
    // REPORT only: nothing is put back.
    expect(kube.get(cmRef(f.name))).toBeUndefined();
  });

  it("heals under HEAL: re-applies a deleted resource and a changed field, and reports healed", async () => {
    const f = await applied({ driftPolicy: "HEAL" });
    await kubeRequest("PATCH", f.path, "kubectl-edit", { data: { key: "edited" } });
    await eventually(async () => (await sticker(f.task.taskId))?.healed_at != null, "a heal reported");
    expect(kube.get(cmRef(f.name))?.data).toEqual({ key: "applied", other: "kept" });
    expect(kube.get(cmRef(f.name))?.metadata.managedFields.map((e: { manager: string }) => e.manager)).toEqual(["brokkr-agent"]);
    const first = await driftEvents(f.task.taskId);
    expect(first.map((e) => [e.event_type, e.data.healed])).toEqual([
      ["release.drift_detected", true],
      ["release.drift_resolved", true],
    ]);
    await kubeRequest("DELETE", f.path, "kubectl");
    await eventually(async () => (await driftEvents(f.task.taskId)).length === 4, "the second heal");
    expect(kube.get(cmRef(f.name))?.data).toEqual({ key: "applied", other: "kept" });
    expect(reasons((await driftEvents(f.task.taskId))[2]?.data.items ?? [])).toEqual(["DELETED::"]);
    expect((await sticker(f.task.taskId))?.drift_detected).toBe(false);
  });
});
