import { describe, expect, it } from "vitest";
import { graphqlAction, pickResource, resourceTypeOf, restAction } from "./naming.js";

describe("audit action names", () => {
  it("names a GraphQL mutation and its REST twin alike", () => {
    const pairs: [string, string, string][] = [
      ["createStack", "create_stack", "stack.created"],
      ["createGenerator", "create_generator", "generator.created"],
      ["registerAgent", "register_agent", "agent.registered"],
      ["deregisterAgent", "deregister_agent", "agent.deregistered"],
      ["rotateAgentPak", "rotate_agent_pak", "agent_pak.rotated"],
      ["addStackLabel", "stacks_add_label", "stack_label.added"],
      ["removeAgentLabel", "agents_remove_label", "agent_label.removed"],
      ["setStackAnnotation", "stacks_add_annotation", "stack_annotation.set"],
      ["targetStack", "add_target", "stack.targeted"],
      ["untargetStack", "remove_target", "stack.untargeted"],
      ["reportAgentEvent", "create_event", "agent_event.reported"],
      ["heartbeat", "record_heartbeat", "heartbeat.recorded"],
      ["createDeploymentObject", "create_deployment_object", "deployment_object.created"],
    ];
    for (const [field, op, action] of pairs) {
      expect(graphqlAction(field), field).toBe(action);
      expect(restAction(op), op).toBe(action);
    }
  });

  it("names operations other features add without a table entry", () => {
    expect(graphqlAction("createWorkOrder")).toBe("work_order.created");
    expect(restAction("create_work_order")).toBe("work_order.created");
    expect(restAction("claim_work_order")).toBe("work_order.claimed");
    expect(graphqlAction("approvePromotion")).toBe("promotion.approved");
    expect(restAction("templates_add_label")).toBe("template_label.added");
    expect(graphqlAction("frobnicate")).toBe("frobnicate.recorded");
    expect(graphqlAction("constructor")).toBe("constructor.recorded");
  });

  it("takes the resource from the action's noun without its part words", () => {
    expect(resourceTypeOf("stack_label.added")).toBe("stack");
    expect(resourceTypeOf("agent_pak.rotated")).toBe("agent");
    expect(resourceTypeOf("deployment_object.created")).toBe("deployment_object");
  });

  it("prefers a candidate of the wanted type and keeps a non-UUID id out of the id column", () => {
    const picked = pickResource("stack", [
      { type: "generator", id: "6f1c1a52-8a3b-4a7e-9f25-3f0c4f1e2a10" },
      { type: "stack", id: "0b4a7c9e-1d2f-4e3a-8b5c-6d7e8f9a0b1c" },
    ]);
    expect(picked).toEqual({ type: "stack", id: "0b4a7c9e-1d2f-4e3a-8b5c-6d7e8f9a0b1c" });
    expect(pickResource("stack", [{ type: "stack", id: "not-a-uuid" }])).toEqual({ type: "stack", id: null, ref: "not-a-uuid" });
    expect(pickResource("stack", [{ type: "stack", id: undefined }])).toEqual({ type: "stack", id: null });
  });
});
