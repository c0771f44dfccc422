import type { DeploymentEvent, DeploymentObjectPayload } from "./types.ts";

export const ME_QUERY = /* GraphQL */ `
  query AgentMe {
    me {
      role
      id
    }
  }
`;

const APPLIED_OBJECT = /* GraphQL */ `
  fragment AppliedObject on DeploymentObject {
    id
    sequenceId
    yamlContent
    yamlChecksum
    isDeletionMarker
  }
`;

export const AGENT_DEPLOYMENTS_SUBSCRIPTION = /* GraphQL */ `
  subscription AgentDeployments($after: BigInt) {
    agentDeployments(after: $after) {
      type
      stackId
      deploymentObject {
        ...AppliedObject
      }
    }
  }
${APPLIED_OBJECT}`;

export const TARGET_STATE_QUERY = /* GraphQL */ `
  query AgentTargetState($agentId: ID!) {
    targetState(agentId: $agentId) {
      stackId
      deploymentObject {
        ...AppliedObject
      }
    }
  }
${APPLIED_OBJECT}`;

export const REPORT_AGENT_EVENT_MUTATION = /* GraphQL */ `
  mutation ReportAgentEvent($input: ReportAgentEventInput!) {
    reportAgentEvent(input: $input) {
      event {
        id
      }
    }
  }
`;

export const HEARTBEAT_MUTATION = /* GraphQL */ `
  mutation Heartbeat($input: HeartbeatInput) {
    heartbeat(input: $input) {
      agent {
        id
      }
    }
  }
`;

export interface MeResult {
  me: { role: "ADMIN" | "GENERATOR" | "AGENT"; id: string | null };
}

export interface TargetStateResult {
  targetState: Array<{ stackId: string; deploymentObject: DeploymentObjectPayload }>;
}

export interface AgentDeploymentsResult {
  agentDeployments: DeploymentEvent;
}
