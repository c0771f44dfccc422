import express, { type Request, type Response } from "express";
import { z } from "zod";
import type { Identity, IdentityResolver } from "../auth/identity.js";
import { assertAgentSelfOrAdmin } from "../auth/policy.js";
import { reportAgentEvent } from "../agents/events-service.js";
import { recentEventsOfAgent } from "../agents/events-store.js";
import { findStacksByIds } from "../stacks/store.js";
import { getAgent, heartbeat } from "../agents/service.js";
import type { Database } from "../db/client.js";
import { stacksReaching, targetState } from "../associations/service.js";
import type { DeliveryHub } from "../delivery/hub.js";
import { pollDeployments } from "../delivery/long-poll.js";
import { badInput, unauthenticated } from "../errors.js";
import { sendError } from "../http/errors.js";
import { recordHealth } from "./health-store.js";
import { eventJson, objectJson, stackJson } from "./shapes.js";

interface Deps {
  db: Database;
  identities: IdentityResolver;
  delivery: DeliveryHub;
}

const eventBody = z.object({
  agent_id: z.string().optional(),
  deployment_object_id: z.string(),
  event_type: z.string().min(1).max(64).default("DEPLOYMENT"),
  status: z.enum(["SUCCESS", "FAILURE"]),
  message: z.string().max(16_384).nullish(),
});
const heartbeatBody = z.object({
  k8s_reachable: z.boolean().nullish(),
  k8s_api_latency_ms: z.number().int().min(0).max(3_600_000).nullish(),
});
const healthBody = z.object({
  deployment_objects: z.array(
    z.object({ id: z.string(), status: z.string().min(1).max(64), summary: z.unknown().optional(), checked_at: z.string().datetime({ offset: true }) }),
  ).max(10_000),
});

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badInput(issue.path.join(".") || "body", `${issue.path.join(".") || "body"}: ${issue.message}`);
  }
  return parsed.data;
}

/** Brokkr's v1 agent-facing REST API over the same services as GraphQL. */
export function createRestRouter({ db, identities, delivery }: Deps) {
  const router = express.Router();
  type Handler = (req: Request, res: Response, who: Identity) => Promise<void>;
  const route = (handler: Handler) => async (req: Request, res: Response) => {
    try {
      const who = await identities.resolve(req.headers.authorization);
      if (!who) throw unauthenticated();
      await handler(req, res, who);
    } catch (err) {
      sendError(res, err);
    }
  };
  /** The path's agent, which the caller must be (or the admin). */
  const pathAgent = async (req: Request, who: Identity) => {
    const agent = await getAgent(db, String(req.params.id));
    assertAgentSelfOrAdmin(who, agent.id);
    return agent;
  };

  router.post("/auth/pak", route(async (_req, res, who) => {
    res.json({
      admin: who.role === "ADMIN",
      agent: who.role === "AGENT" ? who.id : null,
      generator: who.role === "GENERATOR" ? who.id : null,
      readonly: false,
    });
  }));

  router.get("/agents/:id/target-state", route(async (req, res, who) => {
    const mode = req.query.mode ?? "full";
    if (mode !== "full" && mode !== "incremental") throw badInput("mode", "mode must be full or incremental");
    const agent = await pathAgent(req, who);
    const entries = await targetState(db, agent, mode === "incremental");
    res.json(entries.map((e) => objectJson(e.deploymentObject)));
  }));

  router.get("/agents/:id/stacks", route(async (req, res, who) => {
    const agent = await pathAgent(req, who);
    const stacks = await findStacksByIds(db, await stacksReaching(db, agent));
    res.json(stacks.sort((a, b) => a.name.localeCompare(b.name)).map(stackJson));
  }));

  router.get("/agents/:id/events", route(async (req, res, who) => {
    const agent = await pathAgent(req, who);
    res.json((await recentEventsOfAgent(db, agent.id)).map(eventJson));
  }));

  router.post("/agents/:id/events", route(async (req, res, who) => {
    const agent = await pathAgent(req, who);
    const body = parseBody(eventBody, req.body);
    if (body.agent_id && body.agent_id !== agent.id) throw badInput("agent_id", "agent_id does not match the path");
    const event = await reportAgentEvent(db, who, {
      agentId: agent.id,
      deploymentObjectId: body.deployment_object_id,
      eventType: body.event_type,
      status: body.status,
      message: body.message,
    });
    res.status(201).json(eventJson(event));
  }));

  router.post("/agents/:id/heartbeat", route(async (req, res, who) => {
    const agent = await pathAgent(req, who);
    const body = parseBody(heartbeatBody, req.body);
    await heartbeat(db, agent.id, { k8sReachable: body.k8s_reachable, k8sApiLatencyMs: body.k8s_api_latency_ms });
    res.status(204).end();
  }));

  router.patch("/agents/:id/health-status", route(async (req, res, who) => {
    const agent = await pathAgent(req, who);
    const body = parseBody(healthBody, req.body);
    await recordHealth(db, agent.id, body.deployment_objects);
    res.status(200).end();
  }));

  router.get("/agents/:id/deployment-objects", route(async (req, res, who) => {
    const agent = await pathAgent(req, who);
    const after = String(req.query.after ?? "0");
    if (!/^\d{1,19}$/.test(after)) throw badInput("after", "after must be a non-negative integer");
    const wait = Number(req.query.wait ?? 0);
    if (!Number.isFinite(wait) || wait < 0 || wait > 60) throw badInput("wait", "wait must be between 0 and 60 seconds");
    const result = await pollDeployments(db, delivery, agent.id, BigInt(after), wait * 1000);
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
