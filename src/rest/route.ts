import type { LiveConfig } from "../live-config/live-config.js";
import type { Request } from "express";
import { z } from "zod";
import type { AgentRow } from "../agents/store.js";
import type { Identity } from "../auth/identity.js";
import type { AgentSocketServer } from "../brokkr-ws/server.js";
import type { Database } from "../db/client.js";
import type { DeliveryHub } from "../delivery/hub.js";
import type { TelemetryLimits } from "../config.js";
import type { Webhooks } from "../webhooks/runtime.js";
import { badInput } from "../errors.js";
import { isUuid, type InputLimits } from "../validation.js";
import { MAX_PAGE_SIZE, type Connection, type Page } from "../graphql/pagination.js";

export interface RestDeps {
  db: Database;
  delivery: DeliveryHub;
  limits: InputLimits;
  /** Brokkr's agent websocket registry, for the admin connections view. */
  agentSockets: Pick<AgentSocketServer, "connections">;
  /** The broker's hot-reloadable configuration (POST /admin/config/reload). */
  liveConfig: LiveConfig;
  /** Cluster telemetry's retention and bounds (src/telemetry). */
  telemetry: TelemetryLimits;
  webhooks: Webhooks;
  /** Open consumer websockets on this broker (`/api/v1/fleet/live`), for the same view. */
  liveSubscribers?: () => number;
}

export interface Call<P, Q, B> {
  who: Identity;
  params: P;
  query: Q;
  body: B;
  /** The path's agent, when the route names `agent`: resolved (and authorized) before the body is read. */
  agent: AgentRow;
  req: Request;
  deps: RestDeps;
}

export interface Reply {
  status: number;
  body?: unknown;
  /** A content type other than JSON (the body is then a string). */
  type?: string;
}

export type Role = Identity["role"];

/**
 * One operation of /api/v1: its spec operationId (method and path come from the spec), who may
 * call it, how its path, query and body parse, and one service call.
 */
export interface Route {
  op: string;
  /** For routes outside Brokkr's spec (our long-poll): their own method and path. */
  extension?: { method: string; path: string };
  roles: readonly Role[];
  params: z.ZodType;
  query: z.ZodType;
  body?: z.ZodType;
  /** Accepts a raw `application/yaml` body, handed to `body` as `{ yaml_content }`. */
  yaml?: boolean;
  agent?: "read" | "write";
  handle(call: Call<unknown, unknown, unknown>): Promise<Reply>;
}

interface RouteDef<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  op: string;
  extension?: { method: string; path: string };
  roles: readonly Role[];
  params?: P;
  query?: Q;
  body?: B;
  yaml?: boolean;
  agent?: "read" | "write";
  handle(call: Call<z.output<P>, z.output<Q>, z.output<B>>): Promise<Reply>;
}

const none = z.object({});

export function route<P extends z.ZodType = typeof none, Q extends z.ZodType = typeof none, B extends z.ZodType = z.ZodUndefined>(
  def: RouteDef<P, Q, B>,
): Route {
  return { ...def, params: def.params ?? none, query: def.query ?? none } as Route;
}

export const uuid = z.string().refine(isUuid, "must be a UUID");
export const idParams = z.object({ id: uuid });
export const ALL: readonly Role[] = ["ADMIN", "GENERATOR", "AGENT"];

/** Zod's first issue as our BAD_USER_INPUT naming the field (`where` when the value itself is wrong). */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join(".") : where;
  throw badInput(field, `${field}: ${issue?.message ?? "invalid"}`);
}

export const ok = (body: unknown): Reply => ({ status: 200, body });
export const created = (body: unknown): Reply => ({ status: 201, body });
export const noContent = (): Reply => ({ status: 204 });

/** Brokkr's lists are unpaginated: every page, up to MAX_LIST_PAGES pages of MAX_PAGE_SIZE. */
export const MAX_LIST_PAGES = 20;
export async function allPages<T>(fetchPage: (page: Page) => Promise<Connection<T>>): Promise<T[]> {
  const rows: T[] = [];
  let after: string | undefined;
  for (let i = 0; i < MAX_LIST_PAGES; i++) {
    const conn = await fetchPage({ first: MAX_PAGE_SIZE, after });
    rows.push(...conn.edges.map((e) => e.node));
    if (!conn.pageInfo.hasNextPage || !conn.pageInfo.endCursor) break;
    after = conn.pageInfo.endCursor;
  }
  return rows;
}
