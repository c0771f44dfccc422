import type { Db } from "../db/client.js";
import type { NotificationListener } from "../delivery/listener.js";
import { RowChangeFeed } from "../delivery/row-changes.js";
import { type DiagnosticRequestRow, findRequests } from "./store.js";

/** A request as it is now, or gone (the clean-up removed it); RESYNC: re-read the list. */
export type DiagnosticRequestChangeModel =
  | { kind: "UPDATED"; diagnosticRequestId: string; diagnosticRequest: DiagnosticRequestRow }
  | { kind: "REMOVED"; diagnosticRequestId: string; diagnosticRequest: null }
  | { kind: "RESYNC"; diagnosticRequestId: null; diagnosticRequest: null };

export async function readDiagnosticChanges(db: Db, ids: string[]): Promise<DiagnosticRequestChangeModel[]> {
  const rows = new Map((await findRequests(db, ids)).map((r) => [r.id, r]));
  return ids.map((id): DiagnosticRequestChangeModel => {
    const diagnosticRequest = rows.get(id);
    return diagnosticRequest
      ? { kind: "UPDATED", diagnosticRequestId: id, diagnosticRequest }
      : { kind: "REMOVED", diagnosticRequestId: id, diagnosticRequest: null };
  });
}

/** diagnosticRequestChanges: every request's changes, for operators. */
export function diagnosticChangeFeed(db: Db, listener: NotificationListener): RowChangeFeed<DiagnosticRequestChangeModel> {
  return new RowChangeFeed(listener, {
    channel: "brokkr_diagnostic_changes",
    read: (ids) => readDiagnosticChanges(db, ids),
    resync: { kind: "RESYNC", diagnosticRequestId: null, diagnosticRequest: null },
  });
}
