import { describe, expect, it } from "vitest";
import { rawChange } from "./feed.js";

const ID = "6f1c2b1e-8d4a-4c1e-9a3b-2f1e0d9c8b7a";

describe("rawChange", () => {
  it("reads the fleet, agent-event and identity notifications that concern an agent", () => {
    expect(rawChange("brokkr_fleet", `connection:${ID}`)).toEqual({ kind: "CONNECTION", agentId: ID });
    expect(rawChange("brokkr_fleet", `health:${ID}`)).toEqual({ kind: "HEALTH", agentId: ID });
    expect(rawChange("brokkr_agent_events", `${ID}:e1`)).toEqual({ kind: "EVENT", agentId: ID });
    expect(rawChange("brokkr_identities", `agent:${ID}`)).toEqual({ kind: "UPDATED", agentId: ID });
    expect(rawChange("brokkr_fleet", `agent:${ID}`)).toEqual({ kind: "UPDATED", agentId: ID });
  });

  it("ignores other identities, other channels and malformed payloads", () => {
    expect(rawChange("brokkr_identities", `user:${ID}`)).toBeNull();
    expect(rawChange("brokkr_identities", `generator:${ID}`)).toBeNull();
    expect(rawChange("brokkr_objects", "")).toBeNull();
    expect(rawChange("brokkr_fleet", `heartbeat:${ID}`)).toBeNull();
    expect(rawChange("brokkr_fleet", "connection")).toBeNull();
    expect(rawChange("brokkr_fleet", "")).toBeNull();
  });
});
