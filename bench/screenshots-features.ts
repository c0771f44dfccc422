// The feature pages for `npm run screenshots`: seeds a template with two versions, work orders
// (one finished), a webhook subscription with a failed delivery, and telemetry of the web stack.
import type { Page } from "playwright-core";

type Q = (query: string, variables?: Record<string, unknown>, pak?: string) => Promise<any>;
interface Seeded {
  q: Q;
  gen: { pak: string };
  web: string;
  agents: { id: string; pak: string; name: string }[];
}

const TEMPLATE = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ name }}\ndata:\n  tier: {{ tier }}\n";
const SCHEMA = JSON.stringify({ type: "object", required: ["name"], properties: { name: { type: "string" } } });

async function templates(s: Seeded) {
  const created = await s.q(
    `mutation($i: CreateStackTemplateInput!) { createStackTemplate(input: $i) { stackTemplate { id } } }`,
    {
      i: {
        name: "configmap",
        description: "A named ConfigMap",
        templateContent: TEMPLATE,
        parametersSchema: SCHEMA,
        labels: ["prod"],
      },
    },
    s.gen.pak,
  );
  await s.q(
    `mutation($i: UpdateStackTemplateInput!) { updateStackTemplate(input: $i) { stackTemplate { id } } }`,
    {
      i: {
        id: created.createStackTemplate.stackTemplate.id,
        templateContent: `${TEMPLATE}  owner: shop\n`,
        parametersSchema: SCHEMA,
      },
    },
    s.gen.pak,
  );
}

async function workOrders(s: Seeded) {
  const create = `mutation($i: CreateWorkOrderInput!) { createWorkOrder(input: $i) { workOrder { id } } }`;
  const yamlContent = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n";
  for (const labels of [["prod"], ["edge"]]) await s.q(create, { i: { workType: "apply", yamlContent, targeting: { labels } } });
  const done = (await s.q(create, { i: { workType: "custom", yamlContent, targeting: { labels: ["prod"] } } })).createWorkOrder;
  const agent = s.agents[1];
  if (!agent) return;
  await s.q(
    `mutation($id: ID!) { claimWorkOrder(input: { id: $id }) { workOrder { id } } }`,
    { id: done.workOrder.id },
    agent.pak,
  );
  await s.q(
    `mutation($id: ID!) { completeWorkOrder(input: { id: $id, success: true, message: "job finished" }) { outcome } }`,
    { id: done.workOrder.id },
    agent.pak,
  );
}

async function webhooks(s: Seeded) {
  const hook = await s.q(
    `mutation($i: CreateWebhookSubscriptionInput!) { createWebhookSubscription(input: $i) { subscription { id } } }`,
    { i: { name: "ops-alerts", url: "http://127.0.0.1:9/hook", eventTypes: ["deployment.*", "agent.*"] } },
  );
  await s.q(`mutation($id: ID!) { testWebhookSubscription(input: { id: $id }) { success } }`, {
    id: hook.createWebhookSubscription.subscription.id,
  });
}

async function telemetry(s: Seeded) {
  const agent = s.agents[1];
  if (!agent) return;
  const ts = () => new Date().toISOString();
  const line = (l: string) => ({ stackId: s.web, namespace: "shop", pod: "web-7d9f-x2k", container: "web", ts: ts(), line: l });
  await s.q(
    `mutation($i: ReportTelemetryInput!) { reportTelemetry(input: $i) { logs } }`,
    {
      i: {
        events: [
          {
            stackId: s.web,
            observedAt: ts(),
            reason: "Pulled",
            message: 'Successfully pulled image "shop/web:1.5.0"',
            eventType: "Normal",
            involvedObject: { apiVersion: "v1", kind: "Pod", namespace: "shop", name: "web-7d9f-x2k" },
          },
        ],
        logs: ["listening on :8080", "GET /healthz 200 1ms", "GET /cart 200 12ms", "GET /checkout 502 30ms"].map(line),
      },
    },
    agent.pak,
  );
}

export async function seedFeatures(s: Seeded) {
  await templates(s);
  await workOrders(s);
  await webhooks(s);
  await telemetry(s);
}

/** Visits each feature page and takes its picture. */
export async function shootFeatures(page: Page, shot: (name: string, fullPage?: boolean) => Promise<void>) {
  const nav = page.getByRole("navigation", { name: "Console pages" });
  await nav.getByRole("link", { name: "Stacks" }).click();
  await page.getByRole("link", { name: "web", exact: true }).click();
  await page.getByRole("tab", { name: "Telemetry" }).click();
  await page.getByRole("table", { name: "Log lines" }).getByText("GET /checkout").waitFor();
  await shot("stack-telemetry");
  await nav.getByRole("link", { name: "Templates" }).click();
  await page.getByText("configmap v2").waitFor();
  await shot("templates");
  await nav.getByRole("link", { name: "Work orders" }).click();
  await page.getByText("job finished").waitFor();
  await shot("work-orders", true);
  await nav.getByRole("link", { name: "Webhooks" }).click();
  await page.getByText("ops-alerts").first().waitFor();
  await page.locator("tr[data-delivery-id]").first().waitFor();
  await shot("webhooks");
  await nav.getByRole("link", { name: "Audit log" }).click();
  await page.locator("tr[data-audit-id]").first().waitFor();
  await shot("audit");
}
