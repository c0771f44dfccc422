import express, { type Request, type Response } from "express";
import { auditedRest, type RestTrail } from "../audit/capture/rest.js";
import { originOf } from "../audit/capture/origin.js";
import type { AuditSink } from "../audit/entry.js";
import type { IdentityResolver } from "../auth/identity.js";
import { isReadOnly } from "../auth/policy.js";
import { getSelfAgent, getWritingAgent } from "../agents/service.js";
import type { AgentRow } from "../agents/store.js";
import { badInput, unauthenticated } from "../errors.js";
import { httpErrorHandler } from "../http/errors.js";
import { findUncleanText } from "../validation.js";
import { agentRoutes } from "./agent-routes.js";
import { configRoutes } from "./config-routes.js";
import { diagnosticRoutes } from "./diagnostic-routes.js";
import { auditRoutes } from "./audit-routes.js";
import { sendRestError, restRefusal } from "./errors.js";
import { fleetRoutes } from "./fleet-routes.js";
import { generatorRoutes } from "./generator-routes.js";
import { objectRoutes } from "./object-routes.js";
import { pathMatcher, SPEC_OPERATIONS } from "./operations.js";
import { parseWith, type RestDeps, type Route } from "./route.js";
import { stackRoutes } from "./stack-routes.js";
import { telemetryRoutes } from "./telemetry-routes.js";
import { workOrderRoutes } from "./work-order-routes.js";
import { templateRoutes } from "./template-routes.js";
import { webhookRoutes } from "./webhook-routes.js";

interface Deps extends RestDeps {
  identities: IdentityResolver;
  bodyLimitBytes: number;
  /** Every non-GET operation is recorded here (src/audit/capture/rest.ts). */
  audit: AuditSink;
  trustForwardedFor: boolean;
}

/** Every served operation; the rest of Brokkr's spec arrives with its features (README). */
export const ROUTES: readonly Route[] = [
  ...agentRoutes,
  ...generatorRoutes,
  ...stackRoutes,
  ...objectRoutes,
  ...fleetRoutes,
  ...configRoutes,
  ...diagnosticRoutes,
  ...telemetryRoutes,
  ...workOrderRoutes,
  ...templateRoutes,
  ...webhookRoutes,
  ...auditRoutes,
];

const READ_METHODS = new Set(["GET", "HEAD"]);

interface Compiled {
  method: string;
  match: ReturnType<typeof pathMatcher>;
  route: Route;
}

function compile(routes: readonly Route[]): Compiled[] {
  return routes.map((route) => {
    const op = route.extension ?? SPEC_OPERATIONS.get(route.op);
    if (!op) throw new Error(`route ${route.op} is not an operation of Brokkr's spec`);
    return { method: op.method, match: pathMatcher(op.path), route };
  });
}

/** Refuses a NUL or lone surrogate anywhere in the query string or body, naming the field. */
function assertCleanInput(where: unknown): void {
  const field = findUncleanText(where, "");
  if (field !== null)
    throw badInput(field || "body", `${field || "body"} must not contain NUL characters or unpaired surrogates`);
}

function segmentsOf(path: string): string[] {
  try {
    return path.split("/").slice(1).map(decodeURIComponent);
  } catch {
    throw badInput("path", "the path is not validly percent-encoded");
  }
}

/** A body-parser refusal, answered by the HTTP error handler (413, 415, corrupt compression). */
class BodyReadError extends Error {
  constructor(override readonly cause: unknown) {
    super("the request body could not be read");
  }
}

const YAML_TYPES = /^(application|text)\/(x-)?yaml\b/i;

/**
 * Brokkr's REST API v1 as a route table keyed by the spec's operationIds, over the same
 * services as GraphQL. Per request: authenticate, check the route's roles, parse the path, and
 * (for `/agents/{id}` routes) check the caller is that agent or the admin, and for writes
 * that the agent may write; only then read and parse the query and body, then one service call.
 */
export function createRestRouter(deps: Deps) {
  const table = compile(ROUTES);
  const specPaths = [...SPEC_OPERATIONS.values()].map((op) => pathMatcher(op.path));
  const raw = express.raw({ type: () => true, limit: deps.bodyLimitBytes });
  const readBody = (req: Request, res: Response) =>
    new Promise<Buffer | undefined>((resolve, reject) =>
      raw(req, res, (err?: unknown) =>
        err ? reject(new BodyReadError(err)) : resolve(Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body : undefined),
      ),
    );

  async function bodyOf(req: Request, res: Response, route: Route): Promise<unknown> {
    const buffer = await readBody(req, res);
    if (buffer === undefined) return undefined;
    const text = buffer.toString("utf8");
    if (route.yaml && YAML_TYPES.test(req.get("content-type") ?? "")) return { yaml_content: text };
    try {
      return JSON.parse(text);
    } catch {
      throw badInput("body", "request body is not valid JSON");
    }
  }

  async function dispatch(req: Request, res: Response, route: Route, pathParams: Record<string, string>, trail: RestTrail) {
    const { origin } = trail;
    const who = await deps.identities.resolve(req.headers.authorization, origin);
    if (!who) throw unauthenticated();
    trail.who = who;
    if (!route.roles.includes(who.role))
      throw restRefusal("FORBIDDEN", "forbidden", `not allowed for a ${who.role.toLowerCase()} key`);
    // A read-only user reads anything the admin reads; verify_pak (a POST) only reads too.
    if (isReadOnly(who) && !READ_METHODS.has(req.method) && route.op !== "verify_pak")
      throw restRefusal("FORBIDDEN", "forbidden", "read-only user: this key changes nothing");
    const params = parseWith(route.params, pathParams, "path") as Record<string, string>;
    let agent: AgentRow | undefined;
    if (route.agent)
      agent = await (route.agent === "write" ? getWritingAgent : getSelfAgent)(
        deps.db,
        who,
        String(params.id ?? params.agent_id),
      );
    assertCleanInput(req.query);
    const query = parseWith(route.query, req.query, "query");
    let body: unknown;
    if (route.body) {
      const parsed = await bodyOf(req, res, route);
      assertCleanInput(parsed);
      body = parseWith(route.body, parsed, "body");
      trail.body = body;
    }
    const reply = await route.handle({ who, params, query, body, agent: agent as AgentRow, req, deps });
    trail.reply = reply;
    res.status(reply.status);
    if (reply.body === undefined) res.end();
    else if (reply.type) res.type(reply.type).send(reply.body);
    else res.json(reply.body);
  }

  const router = express.Router();
  router.use(async (req, res) => {
    try {
      const segments = segmentsOf(req.path);
      const matches = table.flatMap((c) => {
        const params = c.match(segments);
        return params ? [{ ...c, params }] : [];
      });
      const hit = matches.find((m) => m.method === req.method);
      if (hit) {
        const trail: RestTrail = { origin: originOf(req, "rest", deps.trustForwardedFor) };
        return await auditedRest(deps.audit, req, hit.route.op, hit.params, trail, () =>
          dispatch(req, res, hit.route, hit.params, trail),
        );
      }
      if (matches.length > 0) {
        res.setHeader("Allow", [...new Set(matches.map((m) => m.method))].join(", "));
        return void res.status(405).json({ code: "method_not_allowed", message: `${req.method} is not allowed on this path` });
      }
      const inSpec = specPaths.some((match) => match(segments));
      throw restRefusal(
        "NOT_FOUND",
        "not_found",
        inSpec ? "this operation of Brokkr's API is not served by this broker" : "no such endpoint",
      );
    } catch (err) {
      // Body-parser refusals (too large, bad Content-Encoding, corrupt gzip) are coded by the HTTP handler.
      if (err instanceof BodyReadError) httpErrorHandler(err.cause, req, res, () => {});
      else sendRestError(res, err);
    }
  });
  return router;
}
