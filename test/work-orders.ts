import { type GraphQLResult, ok, type TestBroker } from "./broker.js";
import { CONFIGMAP_YAML } from "./factories.js";

// Work-order fixtures over the public GraphQL API (src/work-orders).
export const WORK_ORDER_FIELDS = `id workType status claimedBy claimedAt retryCount maxRetries backoffSeconds
  claimTimeoutSeconds nextRetryAfter lastError targeting { agentIds labels annotations { key value } }`;

export interface WorkOrderJson {
  id: string;
  workType: string;
  status: "PENDING" | "CLAIMED" | "RETRY_PENDING";
  claimedBy: string | null;
  claimedAt: string | null;
  retryCount: number;
  maxRetries: number;
  backoffSeconds: number;
  claimTimeoutSeconds: number;
  nextRetryAfter: string | null;
  lastError: string | null;
  targeting: { agentIds: string[]; labels: string[]; annotations: { key: string; value: string }[] };
}

export interface NewWorkOrderVars {
  workType?: string;
  yamlContent?: string;
  maxRetries?: number;
  backoffSeconds?: number;
  claimTimeoutSeconds?: number;
  targeting: { agentIds?: string[]; labels?: string[]; annotations?: { key: string; value: string }[] };
}

export function tryCreateWorkOrder(broker: TestBroker, input: NewWorkOrderVars, pak: string | null = broker.adminPak) {
  return broker.gql<{ createWorkOrder: { workOrder: WorkOrderJson } }>(
    `mutation($input: CreateWorkOrderInput!) { createWorkOrder(input: $input) { workOrder { ${WORK_ORDER_FIELDS} } } }`,
    { input: { workType: "apply", yamlContent: CONFIGMAP_YAML("wo"), ...input } },
    pak,
  );
}

export async function createWorkOrder(broker: TestBroker, input: NewWorkOrderVars): Promise<WorkOrderJson> {
  return ok(await tryCreateWorkOrder(broker, input)).createWorkOrder.workOrder;
}

export function claim(broker: TestBroker, pak: string, id: string, agentId?: string) {
  return broker.gql<{ claimWorkOrder: { workOrder: WorkOrderJson } }>(
    `mutation($input: ClaimWorkOrderInput!) { claimWorkOrder(input: $input) { workOrder { ${WORK_ORDER_FIELDS} } } }`,
    { input: { id, agentId } },
    pak,
  );
}

export interface CompletionJson {
  outcome: "SUCCEEDED" | "FAILED" | "RETRY_SCHEDULED";
  logEntry: {
    id: string;
    success: boolean;
    retriesAttempted: number;
    resultMessage: string | null;
    claimedBy: string | null;
  } | null;
  workOrder: WorkOrderJson | null;
}

export function complete(
  broker: TestBroker,
  pak: string,
  input: { id: string; success: boolean; message?: string; retryable?: boolean },
): Promise<GraphQLResult<{ completeWorkOrder: CompletionJson }>> {
  return broker.gql(
    `mutation($input: CompleteWorkOrderInput!) { completeWorkOrder(input: $input) {
       outcome logEntry { id success retriesAttempted resultMessage claimedBy } workOrder { ${WORK_ORDER_FIELDS} } } }`,
    { input },
    pak,
  );
}

export async function workOrderStatus(broker: TestBroker, id: string): Promise<string | null> {
  const { rows } = await broker.db.sql.query<{ status: string }>("SELECT status FROM work_orders WHERE id = $1", [id]);
  return rows[0]?.status ?? null;
}
