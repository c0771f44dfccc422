import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { agentWorld, type AgentWorld } from "../agent-world.js";
import { launchBrowser } from "../browser.js";
import { ok } from "../broker.js";
import { createAgent, unique } from "../factories.js";
import { createComponent, createEnvironment, createRelease, registerVersion } from "../releases.js";
import { createTemplate } from "../templates.js";
import { createUser } from "../users.js";

// The console's release pages in Chromium: the pipeline, and a promotion followed live from
// waiting for its approval to deployed on a real agent (against the fake Kubernetes API).
let world: AgentWorld;
let browser: Browser;

const TEMPLATE = `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-{{ environment.name }}
data:
  image: "{{ components.web.image }}"
`;

beforeAll(async () => {
  world = await agentWorld();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

async function signedIn(pak: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${world.broker.url}/`);
  await page.getByLabel("PAK").fill(pak);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: /Overview/ }).waitFor({ timeout: 20_000 });
  return page;
}

describe("the console's release pages", () => {
  it("shows the pipeline, a promotion going live from waiting for approval to deployed, and the agent's version sticker and its drift", async () => {
    const { broker } = world;
    const label = unique("rel-ui");
    const agent = await createAgent(broker, { activate: true, labels: [label], name: unique("ui-agent") });
    await world.launch(agent.pak);
    const env = await createEnvironment(broker, {
      name: unique("uistage").replace(/[^a-z0-9-]/g, ""),
      requiredApprovals: 1,
      agentSelector: { labels: [label] },
    });
    const component = await createComponent(broker, { name: "web" });
    const version = await registerVersion(broker, component.id);
    const template = await createTemplate(broker, broker.adminPak, { templateContent: TEMPLATE, parametersSchema: "{}" });
    const release = await createRelease(broker, {
      components: [{ componentId: component.id, versionId: version.id }],
      templateId: template.id,
      parameters: {},
      ready: true,
    });
    const requester = await createUser(broker, "ADMIN");
    const approver = await createUser(broker, "APPROVER");
    const promotion = ok(
      await broker.gql<{ requestPromotion: { promotion: { id: string } } }>(
        `mutation($i: RequestPromotionInput!) { requestPromotion(input: $i) { promotion { id } } }`,
        { i: { releaseId: release.id, environmentId: env.id } },
        requester.pak,
      ),
    ).requestPromotion.promotion;

    const page = await signedIn((await createUser(broker, "VIEWER")).pak);
    await page.getByRole("navigation", { name: "Console pages" }).getByRole("link", { name: "Releases" }).click();
    const card = page.getByRole("region", { name: `Environment ${env.name}` });
    await card.getByText("waits for 1 more approval(s)").waitFor({ timeout: 20_000 });
    await page
      .getByRole("table", { name: "Releases" })
      .locator(`tr[data-release="${release.name}"]`)
      .getByText("ready")
      .waitFor();

    await card.getByRole("link", { name: release.name }).click();
    await page.locator('[data-gate="RELEASE_READY"]').getByText("passed").waitFor({ timeout: 20_000 });
    await page.locator('[data-promotion-status="PENDING_APPROVAL"]').waitFor();

    ok(
      await broker.gql(
        `mutation($i: ApprovePromotionInput!) { approvePromotion(input: $i) { promotion { id } } }`,
        { i: { promotionId: promotion.id, comment: "ship it" } },
        approver.pak,
      ),
    );
    await page
      .getByRole("region", { name: "Approvals" })
      .getByText(/approved by .*: ship it/)
      .waitFor({ timeout: 20_000 });
    await page.locator(`[data-task-agent="${agent.name}"][data-task-status="SUCCEEDED"]`).waitFor({ timeout: 30_000 });
    await page.locator('[data-promotion-status="DEPLOYED"]').waitFor({ timeout: 30_000 });
    await page
      .getByRole("region", { name: "Evidence" })
      .getByText(/JOB_COMPLETED/)
      .waitFor({ timeout: 20_000 });

    await page.getByRole("navigation", { name: "Console pages" }).getByRole("link", { name: "Releases" }).click();
    await page.locator(`[data-current-release="${env.name}"]`).getByText(release.name).waitFor({ timeout: 20_000 });
    // The agent's sticker, drift-free once reported; then a drift recorded (as another broker would) shows on a re-read.
    const stickers = () => broker.db.sql.query("SELECT id FROM version_stickers WHERE agent_id = $1", [agent.id]);
    await vi.waitFor(async () => expect((await stickers()).rows).toHaveLength(1), { timeout: 30_000, interval: 200 });
    await page.reload();
    const row = page.getByRole("table", { name: "Version stickers" }).locator(`tr[data-sticker-agent="${agent.name}"]`);
    await row.and(page.locator('[data-drift="false"]')).waitFor({ timeout: 20_000 });
    await broker.db.sql.query(
      `UPDATE version_stickers SET drift_detected = true, drift_checked_at = now(),
         drift_details = '[{"reason": "CHANGED", "apiVersion": "v1", "kind": "ConfigMap", "namespace": "default", "name": "web", "path": "data.image"}]'
       WHERE agent_id = $1`,
      [agent.id],
    );
    await page.reload();
    await row.getByText("drifted: changed ConfigMap default/web data.image").waitFor({ timeout: 20_000 });
    await page.close();
  }, 120_000);
});
