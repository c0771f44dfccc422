import { z } from "zod";
import { LIMITS } from "../validation.js";

/*
 * Brokkr's agent websocket frames (reference/brokkr.md §2.4, crates/brokkr-wire): JSON text
 * frames `{"type": "<snake_case variant>", "body": {...}}`, bodies in the REST API's snake_case
 * shapes. Unknown fields are ignored and unknown variants dropped, as Brokkr's serde decoding
 * does (its unversioned forward compatibility). Ids and timestamps are checked here only for
 * shape; the services check what they mean.
 */

/** The nil UUID Brokkr sends where a body has no row (its synthetic `target_changed` nudge). */
export const NIL_UUID = "00000000-0000-0000-0000-000000000000";

const id = z.string().min(1).max(64);
const time = z.string().max(64);

// Agent → broker, control lane: written through the same services as REST.
const heartbeat = z.object({
  type: z.literal("heartbeat"),
  body: z.object({
    agent_id: id,
    sent_at: time.optional(),
    k8s_reachable: z.boolean().nullish(),
    k8s_api_latency_ms: z.number().nullish(),
  }),
});
// The AgentEvent row; the agent sends a nil `id` and placeholder timestamps, which are ignored.
const agentEvent = z.object({
  type: z.literal("agent_event"),
  body: z.object({
    agent_id: id,
    deployment_object_id: id,
    event_type: z.string().min(1).max(LIMITS.eventType),
    status: z.enum(["SUCCESS", "FAILURE"]),
    message: z.string().max(LIMITS.eventMessage).nullish(),
  }),
});
// The DeploymentHealth row; `summary` is JSON text there.
const agentHealth = z.object({
  type: z.literal("agent_health"),
  body: z.object({
    agent_id: id,
    deployment_object_id: id,
    status: z.string().min(1).max(LIMITS.healthStatus),
    summary: z.string().nullish(),
    checked_at: z.string().datetime({ offset: true }),
  }),
});

// Agent → broker, telemetry lane (no REST fallback in Brokkr either).
const k8sEvent = z.object({
  type: z.literal("k8s_event"),
  body: z.object({
    agent_id: id,
    stack_id: id,
    observed_at: time,
    reason: z.string(),
    message: z.string(),
    event_type: z.string(),
    source: z.string().nullish(),
    involved_object: z.object({
      api_version: z.string(),
      kind: z.string(),
      namespace: z.string().nullish(),
      name: z.string(),
      uid: z.string().nullish(),
    }),
  }),
});
const podLogLine = z.object({
  type: z.literal("pod_log_line"),
  body: z.object({
    agent_id: id,
    stack_id: id,
    namespace: z.string(),
    pod: z.string(),
    container: z.string(),
    ts: time,
    line: z.string(),
  }),
});
const logGap = z.object({
  type: z.literal("log_gap"),
  body: z.object({
    agent_id: id,
    stack_id: id,
    since_ts: time,
    dropped_count: z.number().int().min(0),
    reason: z.enum(["rate_limit", "buffer_full", "disconnected"]),
  }),
});

export const uplinkFrame = z.discriminatedUnion("type", [heartbeat, agentEvent, agentHealth, k8sEvent, podLogLine, logGap]);
export type UplinkFrame = z.infer<typeof uplinkFrame>;
export type ControlFrame = Extract<UplinkFrame, { type: "heartbeat" | "agent_event" | "agent_health" }>;
export type TelemetryFrame = Exclude<UplinkFrame, ControlFrame>;

export function isControl(frame: UplinkFrame): frame is ControlFrame {
  return frame.type === "heartbeat" || frame.type === "agent_event" || frame.type === "agent_health";
}

/** A text frame as an uplink frame, or null (not JSON, an unknown variant, a bad body). */
export function decodeUplink(text: string): UplinkFrame | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = uplinkFrame.safeParse(json);
  return parsed.success ? parsed.data : null;
}

// Broker → agent. `work_order` exists on Brokkr's wire; it arrives with the work-order issue.
export const stackChangedFrame = z.object({
  type: z.literal("stack_changed"),
  body: z.object({
    id,
    name: z.string(),
    description: z.string().nullable(),
    generator_id: id,
    // The REST shape's timestamps are typed nullable (its helper serves nullable columns too).
    created_at: time.nullable(),
    updated_at: time.nullable(),
    deleted_at: time.nullable(),
  }),
});
export const targetChangedFrame = z.object({
  type: z.literal("target_changed"),
  body: z.object({ id, agent_id: id, stack_id: id }),
});
export const pushFrame = z.discriminatedUnion("type", [stackChangedFrame, targetChangedFrame]);
export type PushFrame = z.infer<typeof pushFrame>;

export function encodePush(frame: PushFrame): string {
  return JSON.stringify(frame);
}
