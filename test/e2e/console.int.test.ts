import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "../browser.js";
import { startTestBroker, type TestBroker } from "../broker.js";
import {
  backdateObject,
  CONFIGMAP_YAML,
  createAgent,
  createGenerator,
  createObject,
  createStack,
  registerAgent,
  reportEvent,
  setAgentStatus,
  targetStack,
  unique,
} from "../factories.js";
import { waitUntil, watchLive } from "../subscriptions.js";
import { createUser } from "../users.js";
import { createWorkOrder } from "../work-orders.js";

let broker: TestBroker;
let browser: Browser;
const foreignHosts = new Set<string>();

beforeAll(async () => {
  broker = await startTestBroker();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  // Offline by construction: nothing was fetched from anywhere but the broker.
  expect([...foreignHosts]).toEqual([]);
});

/** Opens the console at `/` and signs in with `pak`; resolves once the overview is up. */
async function signedIn(pak: string, given?: Page): Promise<Page> {
  const page = given ?? (await browser.newPage());
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (!["data:", "blob:"].includes(url.protocol) && url.host !== new URL(broker.url).host) foreignHosts.add(url.host);
  });
  await page.goto(`${broker.url}/`);
  await page.getByLabel("PAK").fill(pak);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: /Overview/ }).waitFor({ timeout: 20_000 });
  return page;
}

const fleetRow = (page: Page, agentId: string) => page.locator(`tr[data-agent-id="${agentId}"]`);

describe("the console", () => {
  it("refuses a generator's key at sign-in and says why", async () => {
    const gen = await createGenerator(broker);
    const page = await browser.newPage();
    await page.goto(`${broker.url}/`);
    await page.getByLabel("PAK").fill(gen.pak);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toContain("cannot read the fleet");
    await page.close();
  });

  it("signs a viewer in and shows an agent go live on the fleet page as it connects", async () => {
    const viewer = await createUser(broker, "VIEWER");
    const agent = await createAgent(broker, { activate: true, name: unique("live-agent") });
    const page = await signedIn(viewer.pak);
    await expect(page.getByText("read-only").first().isVisible()).resolves.toBe(true);
    await page.getByRole("link", { name: "Fleet" }).click();
    await page.getByLabel("Filter agents").fill(agent.name);
    const row = fleetRow(page, agent.id);
    await row.getByText("OFFLINE").waitFor({ timeout: 20_000 });
    const watch = await watchLive(broker, agent);
    await row.getByText("WEBSOCKET").waitFor({ timeout: 20_000 });
    await watch.stop();
    await row.getByText("OFFLINE").waitFor({ timeout: 20_000 });
    await page.close();
  });

  it("moves between pages by keyboard and adds an agent activated after the page loaded", async () => {
    const page = await signedIn(broker.adminPak);
    await page.getByRole("link", { name: "Fleet" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: /Fleet/ }).waitFor();
    await expect(page.getByRole("link", { name: "Fleet" }).getAttribute("aria-current")).resolves.toBe("page");
    const agent = await createAgent(broker, { name: unique("late-agent") });
    await page.getByLabel("Filter agents").fill(agent.name);
    await setAgentStatus(broker, agent.id, "ACTIVE");
    await fleetRow(page, agent.id).getByText("ACTIVE", { exact: true }).waitFor({ timeout: 20_000 });
    await page.close();
  });

  it("shows a new object's result arrive, live, on the fleet page and the agent's page", async () => {
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker, { activate: true, name: unique("result-agent") });
    await registerAgent(broker, agent.id, gen.id);
    const stack = await createStack(broker, gen.pak);
    await targetStack(broker, agent.id, stack.id);
    const object = await createObject(broker, gen.pak, stack.id);
    const page = await signedIn(broker.adminPak);
    await page.getByRole("link", { name: "Fleet" }).click();
    await page.getByLabel("Filter agents").fill(agent.name);
    const row = fleetRow(page, agent.id);
    await row.getByText("no report").waitFor({ timeout: 20_000 });
    await reportEvent(broker, agent.pak, object.id, "FAILURE");
    await row.getByText("FAILURE").waitFor({ timeout: 20_000 });
    await row.getByRole("link", { name: agent.name }).click();
    await page.getByRole("heading", { name: `Agent ${agent.name}` }).waitFor();
    await reportEvent(broker, agent.pak, object.id, "SUCCESS");
    await page.getByRole("table", { name: "Events" }).getByText("SUCCESS").waitFor({ timeout: 20_000 });
    await page.close();
  });

  it("opens a stack's history and shows the diff between its last two objects, and who it reaches", async () => {
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker, { activate: true, name: unique("reached-agent") });
    await registerAgent(broker, agent.id, gen.id);
    const stack = await createStack(broker, gen.pak, { name: unique("web") });
    await targetStack(broker, agent.id, stack.id);
    await createObject(broker, gen.pak, stack.id, CONFIGMAP_YAML("before-name"));
    await createObject(broker, gen.pak, stack.id, CONFIGMAP_YAML("after-name"));
    const page = await signedIn(broker.adminPak);
    await page.getByRole("link", { name: "Stacks" }).click();
    await page.getByRole("link", { name: stack.name }).click();
    await page.getByRole("heading", { name: `Stack ${stack.name}` }).waitFor();
    const reaches = page.getByRole("table", { name: "Agents this stack reaches" });
    await reaches.getByText(agent.name).waitFor();
    await expect(reaches.getByText("EXPLICIT").isVisible()).resolves.toBe(true);
    const diff = page.getByLabel("Differences between the two versions");
    await diff.locator('[data-diff="removed"]', { hasText: "before-name" }).waitFor({ timeout: 20_000 });
    await diff.locator('[data-diff="added"]', { hasText: "after-name" }).waitFor();
    await page.close();
  });

  it("lists problems by the broker's rules: failing on any stack's latest object, objects pending past the threshold", async () => {
    const { gen, agent: failing, stack } = await targetedAgentNamed("failing-agent");
    const other = await createStack(broker, gen.pak);
    await targetStack(broker, failing.id, other.id);
    await reportEvent(broker, failing.pak, (await createObject(broker, gen.pak, stack.id)).id, "FAILURE");
    // Its newest event is a success (on the other stack): the failure still counts.
    await reportEvent(broker, failing.pak, (await createObject(broker, gen.pak, other.id)).id, "SUCCESS");
    const late = await targetedAgentNamed("late-agent");
    await backdateObject(broker, (await createObject(broker, late.gen.pak, late.stack.id)).id, 10);
    const fresh = await targetedAgentNamed("fresh-agent");
    await createObject(broker, fresh.gen.pak, fresh.stack.id);
    const page = await signedIn(broker.adminPak);
    const failingList = page.getByRole("region", { name: "Failing" });
    await failingList.getByRole("link", { name: failing.name }).waitFor({ timeout: 20_000 });
    const overdue = page.getByRole("region", { name: "Pending too long" });
    await overdue.getByRole("link", { name: late.agent.name }).waitFor();
    await expect(overdue.getByRole("link", { name: fresh.agent.name }).count()).resolves.toBe(0);
    await expect(failingList.getByRole("link", { name: late.agent.name }).count()).resolves.toBe(0);
    await page.close();
  });

  it("re-reads what it shows after its websocket comes back: changes made while away appear", async () => {
    const page = await browser.newPage();
    let away = false;
    let refused = 0;
    const open: { close(o?: { code?: number; reason?: string }): Promise<void> }[] = [];
    await page.routeWebSocket(/\/graphql$/, (ws) => {
      if (away) {
        refused++;
        return ws.close({ code: 4000, reason: "away" });
      }
      open.push(ws, ws.connectToServer());
    });
    await signedIn(broker.adminPak, page);
    await page.getByRole("link", { name: "Work orders" }).click();
    await page.getByRole("heading", { name: "Work orders", level: 2 }).waitFor();
    await page.getByRole("table", { name: "Queued work orders" }).waitFor();
    away = true;
    await Promise.all(open.splice(0).map((ws) => ws.close({ code: 4000, reason: "away" })));
    await waitUntil(
      () => refused > 0,
      () => "the console did not try to reconnect",
    );
    // Told to nobody: the console's subscriptions are down.
    const order = await createWorkOrder(broker, { workType: unique("while-away").slice(0, 40), targeting: { labels: ["x"] } });
    const agent = await createAgent(broker, { activate: true, name: unique("away-agent") });
    away = false;
    await page.locator(`tr[data-work-order-id="${order.id}"]`).waitFor({ timeout: 30_000 });
    await page.getByRole("link", { name: "Fleet" }).click();
    await page.getByLabel("Filter agents").fill(agent.name);
    await fleetRow(page, agent.id).waitFor({ timeout: 20_000 });
    await page.close();
  });
});

async function targetedAgentNamed(prefix: string) {
  const gen = await createGenerator(broker);
  const agent = await createAgent(broker, { activate: true, name: unique(prefix) });
  await registerAgent(broker, agent.id, gen.id);
  const stack = await createStack(broker, gen.pak);
  await targetStack(broker, agent.id, stack.id);
  return { gen, agent, stack };
}
