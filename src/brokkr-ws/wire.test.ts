import { describe, expect, it } from "vitest";
import { decodeUplink, encodePush, isControl, NIL_UUID, pushFrame } from "./wire.js";

const agent = "123e4567-e89b-12d3-a456-426614174001";
const stack = "123e4567-e89b-12d3-a456-426614174003";
const object = "123e4567-e89b-12d3-a456-426614174002";
const ts = "2023-01-01T00:00:00Z";

// One frame of each uplink variant as Brokkr's agent serialises it (reference §2.4, brokkr-wire).
const uplinks = {
  heartbeat: { agent_id: agent, sent_at: ts, k8s_reachable: true, k8s_api_latency_ms: 7 },
  agent_event: {
    id: NIL_UUID,
    agent_id: agent,
    deployment_object_id: object,
    event_type: "DEPLOY",
    status: "FAILURE",
    message: "apply failed",
    created_at: ts,
    updated_at: ts,
    deleted_at: null,
  },
  agent_health: {
    id: NIL_UUID,
    agent_id: agent,
    deployment_object_id: object,
    status: "degraded",
    summary: `{"pods_ready":0}`,
    checked_at: ts,
    created_at: ts,
    updated_at: ts,
  },
  k8s_event: {
    agent_id: agent,
    stack_id: stack,
    observed_at: ts,
    reason: "BackOff",
    message: "Back-off pulling image",
    event_type: "Warning",
    source: "kubelet",
    involved_object: { api_version: "v1", kind: "Pod", namespace: "default", name: "web-0", uid: "u1" },
  },
  pod_log_line: { agent_id: agent, stack_id: stack, namespace: "default", pod: "web-0", container: "web", ts, line: "listening" },
  log_gap: { agent_id: agent, stack_id: stack, since_ts: ts, dropped_count: 12, reason: "rate_limit" },
};

describe("Brokkr's agent websocket frames", () => {
  it("decodes every uplink variant Brokkr's agent sends, control and telemetry apart", () => {
    for (const [type, body] of Object.entries(uplinks)) {
      const frame = decodeUplink(JSON.stringify({ type, body }));
      expect(frame?.type).toBe(type);
      expect(frame && isControl(frame)).toBe(["heartbeat", "agent_event", "agent_health"].includes(type));
    }
  });

  it("ignores unknown fields, as serde does", () => {
    expect(decodeUplink(JSON.stringify({ type: "heartbeat", body: { ...uplinks.heartbeat, added_later: 1 } }))).toEqual({
      type: "heartbeat",
      body: uplinks.heartbeat,
    });
  });

  it("drops what does not decode: not JSON, unknown or broker-to-agent variants, bad bodies", () => {
    for (const text of [
      "not json",
      "[]",
      JSON.stringify({ type: "fleet_update", body: {} }),
      JSON.stringify({ type: "stack_changed", body: { id: stack } }),
      JSON.stringify({ type: "heartbeat" }),
      JSON.stringify({ type: "agent_event", body: { ...uplinks.agent_event, status: "MAYBE" } }),
      JSON.stringify({ type: "agent_health", body: { ...uplinks.agent_health, checked_at: "yesterday" } }),
      JSON.stringify({ type: "log_gap", body: { ...uplinks.log_gap, reason: "bored" } }),
    ]) {
      expect(decodeUplink(text)).toBeNull();
    }
  });

  it("encodes pushes as {type, body} text with snake_case bodies", () => {
    const frame = { type: "target_changed" as const, body: { id: NIL_UUID, agent_id: agent, stack_id: stack } };
    expect(JSON.parse(encodePush(frame))).toEqual({
      type: "target_changed",
      body: { id: NIL_UUID, agent_id: agent, stack_id: stack },
    });
    expect(pushFrame.safeParse({ type: "work_order", body: {} }).success).toBe(false);
  });
});
