import { ok, type TestBroker } from "./broker.js";
import { createObject, targetedAgent } from "./factories.js";

/** What the diagnostics tests select of a request. */
export const REQUEST_FIELDS = "id agentId deploymentObjectId stackId status requestedBy expiresAt claimedAt completedAt";

export const REQUEST = `mutation($o: ID!, $a: ID!, $r: Int, $by: String) {
  requestDiagnostics(input: { deploymentObjectId: $o, agentId: $a, retentionMinutes: $r, requestedBy: $by }) {
    diagnosticRequest { ${REQUEST_FIELDS} } } }`;
export const CLAIM = `mutation($id: ID!) { claimDiagnosticRequest(input: { id: $id }) { diagnosticRequest { ${REQUEST_FIELDS} } } }`;
export const SUBMIT = `mutation($id: ID!, $p: String!, $e: String!, $l: String, $at: DateTime!) {
  submitDiagnosticResult(input: { requestId: $id, podStatuses: $p, events: $e, logTails: $l, collectedAt: $at }) {
    result { id requestId podStatuses events logTails } diagnosticRequest { status result { id } } } }`;
export const READ = `query($id: ID!) { diagnosticRequest(id: $id) { ${REQUEST_FIELDS} result { podStatuses events logTails collectedAt } } }`;

export const sampleResult = (id: string) => ({
  id,
  p: JSON.stringify([{ name: "web-1", phase: "Running" }]),
  e: JSON.stringify([{ reason: "Started" }]),
  l: JSON.stringify([{ pod: "web-1", container: "app", log: "ready\n" }]),
  at: new Date().toISOString(),
});

/** A generator, an active agent targeted at a stack with one object. */
export async function diagnosticWorld(broker: TestBroker) {
  const world = await targetedAgent(broker);
  const object = await createObject(broker, world.gen.pak, world.stack.id);
  return { ...world, object };
}

/** The admin requests diagnostics; returns the request. */
export async function requestFor(broker: TestBroker, objectId: string, agentId: string, retentionMinutes?: number) {
  const data = ok(
    await broker.gql<{ requestDiagnostics: { diagnosticRequest: { id: string; status: string; expiresAt: string } } }>(REQUEST, {
      o: objectId,
      a: agentId,
      r: retentionMinutes ?? null,
    }),
  );
  return data.requestDiagnostics.diagnosticRequest;
}

/** Moves a request's clock back so it expired a second ago (the table requires expiry after creation). */
export async function expire(broker: TestBroker, id: string): Promise<void> {
  await broker.db.sql.query(
    `UPDATE diagnostic_requests SET created_at = now() - interval '2 minutes', expires_at = now() - interval '1 second' WHERE id = $1`,
    [id],
  );
}
