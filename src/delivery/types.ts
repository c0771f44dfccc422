import type { DeploymentObjectRow } from "../deployment-objects/store.js";

export type AgentDeploymentEventType = "DEPLOY" | "UNTARGETED";

/** What agentDeployments yields: the parent of the GraphQL AgentDeploymentEvent type. */
export interface AgentDeploymentEventModel {
  type: AgentDeploymentEventType;
  stackId: string;
  deploymentObject: DeploymentObjectRow | null;
}

export interface TargetStateEntryModel {
  stackId: string;
  deploymentObject: DeploymentObjectRow;
}

export type { AgentEvent as AgentEventRow } from "../generated/prisma/client.js";
