import type { DeploymentEvent, DeploymentObjectPayload } from "./types.ts";

/** Target-state entries as DEPLOY events, oldest first, as the broker would have sent them. */
export function targetStateEvents(
  entries: Array<{ stackId: string; deploymentObject: DeploymentObjectPayload }>,
): DeploymentEvent[] {
  return [...entries]
    .sort((a, b) => {
      const x = BigInt(a.deploymentObject.sequenceId);
      const y = BigInt(b.deploymentObject.sequenceId);
      return x < y ? -1 : x > y ? 1 : 0;
    })
    .map((e): DeploymentEvent => ({ type: "DEPLOY", stackId: e.stackId, deploymentObject: e.deploymentObject }));
}
