import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { z } from "zod";
import type { Identity, IdentityResolver } from "../auth/identity.js";
import { reportAgentEvent } from "../agent-events/service.js";
import { recentEventsOfAgent } from "../agent-events/store.js";
import { recordHealthReport } from "../agents/health.js";
import { findStacksByIds } from "../stacks/store.js";
import { getSelfAgent, getWritingAgent, heartbeat } from "../agents/service.js";
import type { AgentRow } from "../agents/store.js";
import type { Database } from "../db/client.js";
import { stacksReaching, targetState } from "../associations/service.js";
import type { DeliveryHub } from "../delivery/hub.js";
import { pollDeployments } from "../delivery/long-poll.js";
import { badInput, unauthenticated } from "../errors.js";
import { findUncleanText, LIMITS, parseSequenceId, type InputLimits } from "../validation.js";
import { eventJson, objectJson, stackJson } from "./shapes.js";

interface Deps {
  db: Database;
  identities: IdentityResolver;
  delivery: DeliveryHub;
  bodyLimitBytes: number;
  limits: InputLimits;
}

const eventBody = z.object({
  agent_id: z.string().optional(),
  deployment_object_id: z.string(),
  event_type: z.string().min(1).max(LIMITS.eventType).default("DEPLOYMENT"),
  status: z.enum(["SUCCESS", "FAILURE"]),
  message: z.string().max(LIMITS.eventMessage).nullish(),
});
const heartbeatBody = z.object({
  k8s_reachable: z.boolean().nullish(),
  k8s_api_latency_ms: z.number().int().min(0).max(3_600_000).nullish(),
});
// The entry cap is checked by the service before any entry is looked at.
const healthBody = z.object({
  deployment_objects: z.array(
    z.object({ id: z.string(), status: z.string().min(1).max(LIMITS.healthStatus), summary: z.unknown().optional(), checked_at: z.string().datetime({ offset: true }) }),
  ),
});

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badInput(issue.path.join(".") || "body", `${issue.path.join(".") || "body"}: ${issue.message}`);
  }
  return parsed.data;
}

/** Refuses a NUL or lone surrogate anywhere in the query string or body, naming the field. */
function assertCleanInput(where: unknown): void {
  const field = findUncleanText(where, "");
  if (field !== null) throw badInput(field || "body", `${field || "body"} must not contain NUL characters or unpaired surrogates`);
}

interface AgentCall<T> {
  who: Identity;
  agent: AgentRow;
  body: T;
}

/**
 * Brokkr's v1 agent-facing REST API over the same services as GraphQL. Every /agents/{id}
 * route authenticates, then checks that the caller is that agent (or the admin) and, for
 * writes, that the agent may write, and only then reads and parses the body.
 */
export function createRestRouter({ db, identities, delivery, bodyLimitBytes, limits }: Deps) {
  const router = express.Router();
  const json = express.json({ limit: bodyLimitBytes });
  const readJson = (req: Request, res: Response) =>
    new Promise<unknown>((resolve, reject) => json(req, res, (err?: unknown) => (err ? reject(err) : resolve(req.body))));
  const authenticate = async (req: Request) => (await identities.resolve(req.headers.authorization)) ?? Promise.reject(unauthenticated());

  function agentRoute<T>(
    opts: { write?: boolean; body?: z.ZodType<T> },
    handler: (req: Request, res: Response, call: AgentCall<T>) => Promise<void>,
  ): RequestHandler {
    return async (req: Request, res: Response, next: NextFunction) => {
      try {
        const who = await authenticate(req);
        const id = String(req.params.id);
        const agent = opts.write ? await getWritingAgent(db, who, id) : await getSelfAgent(db, who, id);
        assertCleanInput(req.query);
        let body = undefined as T;
        if (opts.body) {
          const raw = await readJson(req, res);
          assertCleanInput(raw);
          body = parseBody(opts.body, raw);
        }
        await handler(req, res, { who, agent, body });
      } catch (err) {
        next(err);
      }
    };
  }

  router.post("/auth/pak", async (req, res, next) => {
    try {
      const who = await authenticate(req);
      res.json({
        admin: who.role === "ADMIN",
        agent: who.role === "AGENT" ? who.id : null,
        generator: who.role === "GENERATOR" ? who.id : null,
        readonly: false,
      });
    } catch (err) {
      next(err);
    }
  });

  router.get("/agents/:id/target-state", agentRoute({}, async (req, res, { agent }) => {
    const mode = req.query.mode ?? "full";
    if (mode !== "full" && mode !== "incremental") throw badInput("mode", "mode must be full or incremental");
    const entries = await targetState(db, agent, mode === "incremental");
    res.json(entries.map((e) => objectJson(e.deploymentObject)));
  }));

  router.get("/agents/:id/stacks", agentRoute({}, async (_req, res, { agent }) => {
    const stacks = await findStacksByIds(db, await stacksReaching(db, agent));
    res.json(stacks.sort((a, b) => a.name.localeCompare(b.name)).map(stackJson));
  }));

  router.get("/agents/:id/events", agentRoute({}, async (_req, res, { agent }) => {
    res.json((await recentEventsOfAgent(db, agent.id)).map(eventJson));
  }));

  router.post("/agents/:id/events", agentRoute({ write: true, body: eventBody }, async (req, res, { who, agent, body }) => {
    if (body.agent_id && body.agent_id !== agent.id) throw badInput("agent_id", "agent_id does not match the path");
    const event = await reportAgentEvent(db, who, {
      agentId: agent.id,
      deploymentObjectId: body.deployment_object_id,
      eventType: body.event_type,
      status: body.status,
      message: body.message,
    }, { key: req.get("idempotency-key"), ttlSeconds: limits.idempotencyTtlSeconds, field: "Idempotency-Key" });
    res.status(201).json(eventJson(event));
  }));

  router.post("/agents/:id/heartbeat", agentRoute({ write: true, body: heartbeatBody }, async (_req, res, { agent, body }) => {
    await heartbeat(db, agent, { k8sReachable: body.k8s_reachable, k8sApiLatencyMs: body.k8s_api_latency_ms });
    res.status(204).end();
  }));

  router.patch("/agents/:id/health-status", agentRoute({ write: true, body: healthBody }, async (_req, res, { agent, body }) => {
    await recordHealthReport(db, agent, body.deployment_objects, limits);
    res.status(200).end();
  }));

  router.get("/agents/:id/deployment-objects", agentRoute({}, async (req, res, { agent }) => {
    const after = parseSequenceId("after", String(req.query.after ?? "0"));
    const wait = Number(req.query.wait ?? 0);
    if (!Number.isFinite(wait) || wait < 0 || wait > 60) throw badInput("wait", "wait must be between 0 and 60 seconds");
    const result = await pollDeployments(db, delivery, agent.id, after, wait * 1000);
    const objects = result.objects.map(objectJson);
    res.json({
      events: objects.map((o) => ({ type: "DEPLOY", stack_id: o.stack_id, deployment_object: o })),
      deployment_objects: objects,
      stack_ids: result.stackIds,
      cursor: result.cursor.toString(),
    });
  }));

  router.use((_req, res) => {
    res.status(404).json({ code: "NOT_FOUND", message: "no such endpoint" });
  });
  return router;
}
