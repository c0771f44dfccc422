import type { Db } from "../db/client.js";
import type { DeploymentObjectRow } from "../deployment-objects/store.js";
import type { AgentDeploymentEventModel } from "../delivery/types.js";
import { stackJson } from "../rest/shapes.js";
import { findStack } from "../stacks/store.js";
import { encodePush, NIL_UUID } from "./wire.js";

export function isDeploymentEvent(value: unknown): value is AgentDeploymentEventModel {
  return typeof value === "object" && value !== null && "type" in value && "stackId" in value;
}

/**
 * What Brokkr's agent is told for each event of its delivery stream (reference §2.2): a new
 * object of a stack that reaches it (also a stack that just started to) is `stack_changed` with
 * the Stack row, as Brokkr pushes for a new object; a stack that stopped reaching it is
 * `target_changed`. Brokkr's agent uses neither body: each makes it poll target state at once.
 * Unlike Brokkr, every agent the stack reaches is told (label and annotation matches too), on
 * every broker. The frame of one object is built once, however many agents receive it: the
 * hub hands the same row to every subscription.
 */
export class PushFrames {
  /** null: the stack was hard-deleted meanwhile (no row to send, but the agent must still look). */
  private readonly byObject = new WeakMap<DeploymentObjectRow, Promise<string | null>>();

  constructor(private readonly db: Db) {}

  async frameFor(agentId: string, event: AgentDeploymentEventModel): Promise<string> {
    const object = event.deploymentObject;
    if (event.type === "UNTARGETED" || !object) return this.untargeted(agentId, event.stackId);
    let frame = this.byObject.get(object);
    if (!frame) {
      frame = this.stackChanged(object);
      this.byObject.set(object, frame);
      frame.catch(() => this.byObject.delete(object));
    }
    return (await frame) ?? this.untargeted(agentId, object.stackId);
  }

  private async stackChanged(object: DeploymentObjectRow): Promise<string | null> {
    // A deletion marker's stack is soft-deleted: its row is still the one to send.
    const stack = await findStack(this.db, object.stackId, true);
    return stack ? encodePush({ type: "stack_changed", body: stackJson(stack) }) : null;
  }

  /**
   * No target row exists any more, so `id` is nil as in Brokkr's own nudge on deregistration;
   * `stack_id` names the stack (Brokkr sends nil there; its agent reads neither).
   */
  private untargeted(agentId: string, stackId: string): string {
    return encodePush({ type: "target_changed", body: { id: NIL_UUID, agent_id: agentId, stack_id: stackId } });
  }
}
