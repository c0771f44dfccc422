import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { launchBrowser } from "../browser.js";
import { ok, startTestBroker, type TestBroker } from "../broker.js";
import { createAgent, createGenerator, createObject, targetedAgent, unique } from "../factories.js";
import { createUser } from "../users.js";
import { startReceiver } from "../webhook-receiver.js";
import { claim, complete, createWorkOrder } from "../work-orders.js";

// The console's pages for work orders, webhooks, the audit log, templates and a stack's telemetry,
// driven in Chromium against a real broker (set-up as test/e2e/console.int.test.ts).
let broker: TestBroker;
let browser: Browser;

beforeAll(async () => {
  broker = await startTestBroker();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

async function signedIn(pak: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${broker.url}/`);
  await page.getByLabel("PAK").fill(pak);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: /Overview/ }).waitFor({ timeout: 20_000 });
  return page;
}

async function open(page: Page, link: string, heading: string) {
  await page.getByRole("navigation", { name: "Console pages" }).getByRole("link", { name: link }).click();
  await page.getByRole("heading", { name: heading, level: 2 }).waitFor();
}

const CREATE_HOOK = `mutation($input: CreateWebhookSubscriptionInput!) {
  createWebhookSubscription(input: $input) { subscription { id } } }`;
const TEST_HOOK = `mutation($id: ID!) { testWebhookSubscription(input: { id: $id }) { delivery { id } } }`;
const REPORT = `mutation($input: ReportTelemetryInput!) { reportTelemetry(input: $input) { logs } }`;
const CREATE_TEMPLATE = `mutation($input: CreateStackTemplateInput!) { createStackTemplate(input: $input) { stackTemplate { id } } }`;
const UPDATE_TEMPLATE = `mutation($input: UpdateStackTemplateInput!) { updateStackTemplate(input: $input) { stackTemplate { id } } }`;

const logLine = (stackId: string, line: string) => ({
  stackId,
  namespace: "default",
  pod: "web-0",
  container: "web",
  ts: new Date().toISOString(),
  line,
});

describe("the console's feature pages", () => {
  it("lists a created work order in the queue, filtered by status, for a viewer", async () => {
    const viewer = await createUser(broker, "VIEWER");
    const order = await createWorkOrder(broker, { workType: "custom", targeting: { labels: [unique("env")] } });
    const page = await signedIn(viewer.pak);
    await open(page, "Work orders", "Work orders");
    const queue = page.getByRole("table", { name: "Queued work orders" });
    const row = queue.locator(`tr[data-work-order-id="${order.id}"]`);
    await row.getByText("PENDING").waitFor({ timeout: 20_000 });
    await page.getByLabel("Status").selectOption("CLAIMED");
    await row.waitFor({ state: "detached" });
    await page.getByLabel("Status").selectOption("PENDING");
    await row.getByText("custom").waitFor();
    await page.close();
  });

  it("virtualises a long queue (scrolled by keyboard) and shows an order claimed and finished live", async () => {
    const viewer = await createUser(broker, "VIEWER");
    const page = await signedIn(viewer.pak);
    await open(page, "Work orders", "Work orders");
    const label = unique("bulk");
    const made = [];
    for (let i = 0; i < 4; i++)
      made.push(
        ...(await Promise.all(Array.from({ length: 10 }, () => createWorkOrder(broker, { targeting: { labels: [label] } })))),
      );
    const queue = page.getByRole("table", { name: "Queued work orders" });
    // Each new order arrived live; the table knows all of them (aria-rowcount counts the header
    // row too), and renders only those in view.
    const queued = Number((await broker.db.sql.query("SELECT count(*) AS n FROM work_orders")).rows[0].n);
    const total = queued + 1;
    await vi.waitFor(async () => expect(Number(await queue.getAttribute("aria-rowcount"))).toBe(total), { timeout: 20_000 });
    expect(await queue.locator("tbody tr[data-work-order-id]").count()).toBeLessThan(total - 1);
    const region = page.getByRole("region", { name: "Queued work orders (scrollable)" });
    const last = queue.locator(`tr[aria-rowindex="${total}"]`);
    // End scrolls to the bottom; rows are measured as they render, so the first jump can land
    // short of it while heights settle: press again until the last row is in view.
    await vi.waitFor(
      async () => {
        await region.focus();
        await page.keyboard.press("End");
        expect(await last.isVisible()).toBe(true);
      },
      { timeout: 20_000, interval: 300 },
    );
    const id = (await last.getAttribute("data-work-order-id")) as string;
    expect(made.map((o) => o.id)).toContain(id);
    const agent = await createAgent(broker, { activate: true, labels: [label] });
    ok(await claim(broker, agent.pak, id));
    await queue.locator(`tr[data-work-order-id="${id}"]`).getByText("CLAIMED").waitFor({ timeout: 20_000 });
    ok(await complete(broker, agent.pak, { id, success: true, message: "applied" }));
    const finished = page.getByRole("table", { name: "Finished work orders" }).locator(`tr[data-work-order-id="${id}"]`);
    await finished.getByText("SUCCESS").waitFor({ timeout: 20_000 });
    await page.close();
  }, 60_000);

  it("lists a diagnostic request with its agent, then as claimed once the agent claims it", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const object = await createObject(broker, gen.pak, stack.id);
    const made = ok(
      await broker.gql<{ requestDiagnostics: { diagnosticRequest: { id: string } } }>(
        `mutation($input: RequestDiagnosticsInput!) { requestDiagnostics(input: $input) { diagnosticRequest { id } } }`,
        { input: { deploymentObjectId: object.id, agentId: agent.id, retentionMinutes: 30 } },
      ),
    ).requestDiagnostics.diagnosticRequest;
    const viewer = await createUser(broker, "VIEWER");
    const page = await signedIn(viewer.pak);
    await open(page, "Diagnostics", "Diagnostics");
    const row = page.getByRole("table", { name: "Diagnostic requests" }).locator(`tr[data-diagnostic-id="${made.id}"]`);
    await row.getByText("PENDING").waitFor({ timeout: 20_000 });
    await row.getByRole("link", { name: agent.name }).waitFor();
    ok(
      await broker.gql(
        `mutation($id: ID!) { claimDiagnosticRequest(input: { id: $id }) { diagnosticRequest { id } } }`,
        { id: made.id },
        agent.pak,
      ),
    );
    // Live (diagnosticRequestChanges): no reload, no filter change.
    await row.getByText("CLAIMED").waitFor({ timeout: 20_000 });
    await page.getByLabel("Status").selectOption("CLAIMED");
    await row.getByText("CLAIMED").waitFor();
    await page.close();
  });

  it("shows an entry for a mutation just made in the audit log, and filters by resource type", async () => {
    const gen = await createGenerator(broker, unique("audited-gen"));
    await broker.app.audit.flush();
    const page = await signedIn(broker.adminPak);
    await open(page, "Audit log", "Audit log");
    const table = page.getByRole("table", { name: "Audit log entries" });
    const entry = table.getByRole("row").filter({ hasText: "generator.created" }).filter({ hasText: gen.id });
    await entry.waitFor({ timeout: 20_000 });
    await page.getByLabel("Resource type").fill("work_order");
    await page.getByLabel("Resource type").press("Enter");
    await entry.waitFor({ state: "detached" });
    await page.getByLabel("Resource type").fill("generator");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await entry.waitFor();
    await page.close();
  });

  it("shows a webhook subscription and a delivery's outcome as it is recorded", async () => {
    const receiver = await startReceiver();
    receiver.respond = () => 503;
    const name = unique("hook");
    const input = { name, url: `${receiver.url}/hook`, eventTypes: ["stack.*"] };
    const { id } = ok(await broker.gql(CREATE_HOOK, { input })).createWebhookSubscription.subscription;
    const listening = broker.app.webhooks.outcomes.listening;
    const page = await signedIn(broker.adminPak);
    await open(page, "Webhooks", "Webhooks");
    const row = page.getByRole("table", { name: "Webhook subscriptions" }).locator(`tr[data-subscription-id="${id}"]`);
    await row.getByText(name).waitFor({ timeout: 20_000 });
    await expect(row.getByText("stack.*").isVisible()).resolves.toBe(true);
    await vi.waitFor(() => expect(broker.app.webhooks.outcomes.listening).toBeGreaterThan(listening), { timeout: 20_000 });
    const delivery = ok(await broker.gql(TEST_HOOK, { id })).testWebhookSubscription.delivery;
    const deliveryRow = page.locator(`tr[data-delivery-id="${delivery.id}"]`);
    await deliveryRow.getByText("DEAD").waitFor({ timeout: 20_000 });
    await expect(deliveryRow.getByText(name).isVisible()).resolves.toBe(true);
    await page.close();
  });

  it("lists every version of a template", async () => {
    const gen = await createGenerator(broker);
    const name = unique("tpl");
    const body = { templateContent: "kind: ConfigMap\n", parametersSchema: '{"type":"object"}' };
    const created = ok(await broker.gql(CREATE_TEMPLATE, { input: { name, ...body } }, gen.pak)).createStackTemplate;
    await broker.gql(UPDATE_TEMPLATE, { input: { id: created.stackTemplate.id, ...body } }, gen.pak);
    const page = await signedIn(broker.adminPak);
    await open(page, "Templates", "Templates");
    const table = page.getByRole("table", { name: "Stack templates" });
    await table.getByText(`${name} v2`).waitFor({ timeout: 20_000 });
    await table.getByText(`${name} v1`).click();
    await expect(table.getByText("kind: ConfigMap").first().isVisible()).resolves.toBe(true);
    await page.close();
  });

  it("shows a stack's reported log line on its telemetry tab (opened by keyboard), then one reported while it is open", async () => {
    const { agent, stack } = await targetedAgent(broker);
    const first = unique("history-line");
    ok(await broker.gql(REPORT, { input: { logs: [logLine(stack.id, first)] } }, agent.pak));
    const tails = broker.app.telemetry.feed.tailCount;
    const page = await signedIn(broker.adminPak);
    await page.goto(`${broker.url}/#/stacks/${stack.id}`);
    await page.getByRole("heading", { name: `Stack ${stack.name}` }).waitFor({ timeout: 20_000 });
    // The tabs work by keyboard: the arrow key moves to (and opens) the next one.
    await page.getByRole("tab", { name: "Delivery" }).focus();
    await page.keyboard.press("ArrowRight");
    await expect(page.getByRole("tab", { name: "Telemetry" }).getAttribute("aria-selected")).resolves.toBe("true");
    const lines = page.getByRole("table", { name: "Log lines" });
    await lines.getByText(first).waitFor({ timeout: 20_000 });
    await vi.waitFor(() => expect(broker.app.telemetry.feed.tailCount).toBe(tails + 1), { timeout: 20_000 });
    const second = unique("live-line");
    ok(await broker.gql(REPORT, { input: { logs: [logLine(stack.id, second)] } }, agent.pak));
    await lines.getByText(second).waitFor({ timeout: 20_000 });
    await page.close();
  });
});
