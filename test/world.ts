import type { TestBroker } from "./broker.js";
import { createUser } from "./users.js";
import { createAgent, createGenerator, createObject, createStack, registerAgent, targetStack, unique } from "./factories.js";

export type Caller = "admin" | "ownGen" | "otherGen" | "ownAgent" | "otherAgent" | "none";
export const CALLERS: Caller[] = ["admin", "ownGen", "otherGen", "ownAgent", "otherAgent", "none"];

/**
 * Two generators and two active agents: agent A is registered with generator A and targeted at
 * generator A's stack (which carries one object, a label and an annotation); agent B is
 * registered with generator B only. "Own" callers are generator A and agent A.
 */
export interface World {
  genA: { id: string; pak: string };
  genB: { id: string; pak: string };
  agentA: { id: string; pak: string };
  agentB: { id: string; pak: string };
  stack: { id: string; name: string };
  object: { id: string };
  label: string;
  /** A VIEWER user (for the user mutations' rows; not one of the callers). */
  user: { id: string; pak: string };
  pak(caller: Caller): string | null;
}

export async function buildWorld(broker: TestBroker): Promise<World> {
  const [genA, genB, agentA, agentB] = await Promise.all([
    createGenerator(broker),
    createGenerator(broker),
    createAgent(broker, { activate: true, labels: ["agent-a"] }),
    createAgent(broker, { activate: true }),
  ]);
  await Promise.all([registerAgent(broker, agentA.id, genA.id), registerAgent(broker, agentB.id, genB.id)]);
  const label = unique("lbl");
  const stack = await createStack(broker, genA.pak, { labels: [label], annotations: [{ key: "team", value: "a" }] });
  const object = await createObject(broker, genA.pak, stack.id);
  await targetStack(broker, agentA.id, stack.id);
  const user = await createUser(broker, "VIEWER");
  const paks: Record<Caller, string | null> = {
    admin: broker.adminPak,
    ownGen: genA.pak,
    otherGen: genB.pak,
    ownAgent: agentA.pak,
    otherAgent: agentB.pak,
    none: null,
  };
  return { genA, genB, agentA, agentB, stack, object, label, user, pak: (c) => paks[c] };
}
