import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "../browser.js";
import { startTestBroker, type TestBroker } from "../broker.js";
import { CONFIGMAP_YAML, createGenerator, createObject, createStack } from "../factories.js";

let broker: TestBroker;
let browser: Browser;
const foreignHosts = new Set<string>();

beforeAll(async () => {
  broker = await startTestBroker();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

async function openExplorer(query?: string): Promise<Page> {
  const page = await browser.newPage();
  // Offline by construction: every request the page makes must go to the broker itself.
  page.on("request", (request) => {
    const host = new URL(request.url()).host;
    if (!["data:", "blob:"].some((p) => request.url().startsWith(p)) && host !== new URL(broker.url).host) foreignHosts.add(host);
  });
  await page.goto(`${broker.url}/graphql${query ? `?query=${encodeURIComponent(query)}` : ""}`);
  return page;
}

async function signIn(page: Page, pak: string) {
  await page.getByLabel("PAK").fill(pak);
  await page.getByRole("button", { name: "Use key" }).click();
  await page.getByRole("status").filter({ hasText: "key set for this tab" }).waitFor();
}

/**
 * Pastes the PAK, then opens `operation` by link in the same tab: the key must survive the load
 * (session storage), and the editor is not remounted under the next click (a remount after
 * "Use key" could swallow a click on a loaded machine). Waits until the editor shows `marker`.
 */
async function openSignedIn(operation: string, marker: string): Promise<Page> {
  const page = await openExplorer();
  await signIn(page, broker.adminPak);
  await page.goto(`${broker.url}/graphql?query=${encodeURIComponent(operation)}`);
  await page.getByRole("status").filter({ hasText: "key set for this tab" }).waitFor();
  await page.locator(".graphiql-query-editor").getByText(marker).first().waitFor({ timeout: 20_000 });
  return page;
}

// Monaco wraps long lines in the result pane: compare without whitespace.
const resultText = async (page: Page) => (await page.locator(".graphiql-response").innerText()).replace(/\s/g, "");
const run = (page: Page) => page.getByRole("button", { name: /Execute query/ }).click();

// One retry: a headless Chromium on a loaded 2-core machine occasionally drops the first click
// into a freshly mounted editor; the assertions themselves are unchanged.
describe("the GraphQL explorer in a real browser", { retry: 1 }, () => {
  it("serves GraphiQL at GET /graphql to a browser, and JSON API clients still reach GraphQL", async () => {
    const html = await fetch(`${broker.url}/graphql`, { headers: { accept: "text/html" } });
    expect(html.status).toBe(200);
    expect(await html.text()).toContain("/ui/assets/");
    const api = await fetch(`${broker.url}/graphql?query=%7B__typename%7D`, {
      headers: { accept: "application/json", "apollo-require-preflight": "1" },
    });
    expect(await api.json()).toEqual({ data: { __typename: "Query" } });
  });

  it("runs a query with the pasted PAK and shows the answer", async () => {
    const page = await openSignedIn("query WhoAmI { me { role id } }", "WhoAmI");
    await run(page);
    await expect.poll(() => resultText(page), { timeout: 20_000 }).toContain(`"role":"ADMIN"`);
    await page.close();
  });

  it("loads the schema into the documentation explorer", async () => {
    const page = await openSignedIn("query Docs { __typename }", "Docs");
    await page.getByRole("button", { name: /Show Documentation Explorer/ }).click();
    await page.locator(".graphiql-doc-explorer").getByText("Root Types").waitFor({ timeout: 20_000 });
    await page.locator(".graphiql-doc-explorer").getByText("Subscription", { exact: true }).waitFor();
    await page.close();
  });

  it("streams a subscription over graphql-ws with the same key", async () => {
    const generator = await createGenerator(broker);
    const stack = await createStack(broker, generator.pak);
    const first = await createObject(broker, generator.pak, stack.id, CONFIGMAP_YAML("first"));
    const operation = `subscription { stackDeploymentObjects(stackId: "${stack.id}") { sequenceId yamlChecksum } }`;
    const page = await openSignedIn(operation, "stackDeploymentObjects");
    await run(page);
    // The replayed first object is the signal that the subscription is open; the second is live.
    await expect.poll(() => resultText(page), { timeout: 20_000 }).toContain(first.yamlChecksum);
    const second = await createObject(broker, generator.pak, stack.id, CONFIGMAP_YAML("second"));
    await expect.poll(() => resultText(page), { timeout: 20_000 }).toContain(second.yamlChecksum);
    await page.close();
  });

  it("loads nothing from outside the broker", () => {
    expect([...foreignHosts]).toEqual([]);
  });
});
