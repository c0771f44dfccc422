import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator } from "../../test/factories.js";
import type { AuditEntry } from "./entry.js";

/* Reading the audit log: admin only, filtered, paged, over GraphQL and REST alike. */
let broker: TestBroker;
let gen: { id: string; pak: string; name: string };
let agent: { id: string; pak: string };
const RESOURCE = "5d7f0c1e-2b3a-4c5d-8e9f-0a1b2c3d4e5f";

const LIST = `query($filter: AuditLogFilter, $first: Int, $after: String) {
  auditLogs(filter: $filter, first: $first, after: $after) {
    edges { cursor node { sequence action actorType actorId actorName resourceType resourceId timestamp } }
    pageInfo { hasNextPage endCursor } } }`;
type Node = { sequence: string; action: string; actorId: string | null; actorName: string | null; resourceId: string | null };
const list = async (filter: Record<string, unknown>, first = 50, after?: string) => {
  const res = await broker.gql(LIST, { filter, first, after });
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data?.auditLogs as {
    edges: { node: Node; cursor: string }[];
    pageInfo: { hasNextPage: boolean; endCursor: string };
  };
};
const actions = async (filter: Record<string, unknown>) => (await list(filter)).edges.map((e) => e.node.action);
const rest = (pak: string, query = "") =>
  fetch(`${broker.url}/api/v1/admin/audit-logs${query}`, { headers: { authorization: pak } });

const at = (iso: string, action: string, more: Partial<AuditEntry> = {}): AuditEntry => ({
  at: new Date(iso),
  actorType: "generator",
  actorId: gen.id,
  action,
  resourceType: "stack",
  resourceId: RESOURCE,
  details: {},
  ipAddress: null,
  userAgent: null,
  ...more,
});

beforeAll(async () => {
  broker = await startTestBroker();
  gen = await createGenerator(broker);
  agent = await createAgent(broker);
  for (const e of [
    at("2026-01-01T00:00:00Z", "stack.created"),
    at("2026-01-02T00:00:00Z", "stack.updated"),
    at("2026-01-03T00:00:00Z", "stack_label.added"),
    at("2026-01-04T00:00:00Z", "agent.updated", {
      actorType: "agent",
      actorId: agent.id,
      resourceType: "agent",
      resourceId: agent.id,
    }),
  ])
    broker.app.audit.record(e);
  await broker.app.audit.flush();
});

describe("auditLogs", () => {
  it("lists newest first with the actor's name", async () => {
    const nodes = (await list({ resourceId: RESOURCE })).edges.map((e) => e.node);
    expect(nodes.map((n) => n.action)).toEqual(["stack_label.added", "stack.updated", "stack.created"]);
    expect(nodes[0]).toMatchObject({ actorId: gen.id, actorName: gen.name });
  });

  it("filters by actor, action (exact and prefix), resource and time", async () => {
    expect(await actions({ actorType: "agent" })).toContain("agent.updated");
    expect(await actions({ actorType: "agent" })).not.toContain("stack.created");
    expect(await actions({ actorId: agent.id })).toEqual(["agent.updated"]);
    expect(await actions({ action: "stack.updated" })).toEqual(["stack.updated"]);
    expect(await actions({ action: "stack.*", resourceId: RESOURCE })).toEqual(["stack.updated", "stack.created"]);
    expect(await actions({ action: "stack*", resourceId: RESOURCE })).toHaveLength(3);
    // createAgent, recorded when the agent was made, is about the agent too.
    expect(await actions({ resourceType: "agent", resourceId: agent.id })).toEqual(["agent.updated", "agent.created"]);
    expect(await actions({ resourceId: RESOURCE, from: "2026-01-02T00:00:00Z", to: "2026-01-03T00:00:00Z" })).toEqual([
      "stack.updated",
    ]);
  });

  it("treats % and _ in an action prefix as plain characters", async () => {
    expect(await actions({ action: "stack_%*" })).toEqual([]);
    expect(await actions({ action: "stack_label*" })).toEqual(["stack_label.added"]);
  });

  it("pages through every entry once, in order", async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await list({}, 2, after);
      seen.push(...page.edges.map((e) => e.node.sequence));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    const sorted = [...seen].sort((a, b) => Number(BigInt(b) - BigInt(a)));
    expect(seen).toEqual(sorted);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(6);
  });

  it("refuses every caller but the admin", async () => {
    for (const pak of [gen.pak, agent.pak]) {
      expect(errorCode(await broker.gql(LIST, {}, pak))).toBe("FORBIDDEN");
      expect(errorCode(await broker.gql("{ verifyAuditLog { ok } }", {}, pak))).toBe("FORBIDDEN");
    }
    expect(errorCode(await broker.gql(LIST, {}, null))).toBe("UNAUTHENTICATED");
  });

  it("refuses bad filters and pages, naming the field", async () => {
    const field = async (variables: Record<string, unknown>) =>
      (await broker.gql(LIST, variables)).errors?.[0]?.extensions?.field;
    expect(await field({ filter: { actorId: "nope" } })).toBe("filter.actorId");
    expect(await field({ filter: { resourceId: "nope" } })).toBe("filter.resourceId");
    expect(await field({ filter: { action: "a*b" } })).toBe("filter.action");
    expect(await field({ filter: { actorType: "x".repeat(65) } })).toBe("filter.actorType");
    expect(await field({ first: 501 })).toBe("first");
    expect(await field({ after: "forged" })).toBe("after");
  });
});

describe("list_audit_logs", () => {
  it("answers Brokkr's shape with limit, offset and total", async () => {
    const res = await rest(broker.adminPak, `?resource_id=${RESOURCE}&limit=2&offset=1`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { logs: Record<string, unknown>[]; total: number; count: number };
    expect(body).toMatchObject({ total: 3, count: 2, limit: 2, offset: 1 });
    expect(body.logs.map((l) => l.action)).toEqual(["stack.updated", "stack.created"]);
    expect(body.logs[0]).toMatchObject({
      actor_type: "generator",
      actor_id: gen.id,
      actor_name: gen.name,
      resource_type: "stack",
    });
    expect(body.logs[0]).not.toHaveProperty("ip_address");
  });

  it("filters by action prefix and time as the GraphQL query does", async () => {
    const res = await rest(broker.adminPak, `?action=stack.*&resource_id=${RESOURCE}&from=2026-01-02T00:00:00Z`);
    expect(((await res.json()) as { logs: { action: string }[] }).logs.map((l) => l.action)).toEqual(["stack.updated"]);
  });

  it("refuses non-admins with 403 and unparsable parameters with 400", async () => {
    expect((await rest(gen.pak)).status).toBe(403);
    expect((await rest(agent.pak)).status).toBe(403);
    for (const bad of ["?limit=many", "?actor_id=x", "?resource_id=x", "?from=yesterday", "?action=a*b"]) {
      const res = await rest(broker.adminPak, bad);
      expect(res.status, bad).toBe(400);
    }
  });

  it("clamps limit and offset as Brokkr does, and finds nothing past the deepest offset", async () => {
    const body = async (query: string) => (await (await rest(broker.adminPak, query)).json()) as Record<string, unknown>;
    expect(await body("?limit=5000")).toMatchObject({ limit: 1000 });
    expect(await body("?limit=0")).toMatchObject({ limit: 1, count: 1 });
    expect(await body("?offset=-3")).toMatchObject({ offset: 0 });
    expect(await body("?offset=100001")).toMatchObject({ logs: [], count: 0, offset: 100001 });
  });
});
