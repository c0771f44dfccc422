import type { Db } from "../db/client.js";
import type { NotificationListener } from "../delivery/listener.js";
import { RowChangeFeed } from "../delivery/row-changes.js";
import * as store from "./store.js";

/** What became of a work order: still queued, moved to the log, or deleted; RESYNC: re-read the lists. */
export type WorkOrderChangeModel =
  | { kind: "QUEUED"; workOrderId: string; workOrder: store.WorkOrderModel; logEntry: null }
  | { kind: "FINISHED"; workOrderId: string; workOrder: null; logEntry: store.WorkOrderLogRow }
  | { kind: "REMOVED"; workOrderId: string; workOrder: null; logEntry: null }
  | { kind: "RESYNC"; workOrderId: null; workOrder: null; logEntry: null };

/** The state now of each changed order: the queue first, then the log (two statements a batch). */
export async function readWorkOrderChanges(db: Db, ids: string[]): Promise<WorkOrderChangeModel[]> {
  const queued = new Map((await store.findWorkOrders(db, ids)).map((o) => [o.id, o]));
  const rest = ids.filter((id) => !queued.has(id));
  const logged = new Map((rest.length ? await store.findLogEntries(db, rest) : []).map((l) => [l.id, l]));
  return ids.map((id): WorkOrderChangeModel => {
    const workOrder = queued.get(id);
    if (workOrder) return { kind: "QUEUED", workOrderId: id, workOrder, logEntry: null };
    const logEntry = logged.get(id);
    if (logEntry) return { kind: "FINISHED", workOrderId: id, workOrder: null, logEntry };
    return { kind: "REMOVED", workOrderId: id, workOrder: null, logEntry: null };
  });
}

/** workOrderChanges: every change of the queue, for operators (not per agent, as agentWorkOrders is). */
export function workOrderChangeFeed(db: Db, listener: NotificationListener): RowChangeFeed<WorkOrderChangeModel> {
  return new RowChangeFeed(listener, {
    channel: "brokkr_work_order_changes",
    read: (ids) => readWorkOrderChanges(db, ids),
    resync: { kind: "RESYNC", workOrderId: null, workOrder: null, logEntry: null },
  });
}
