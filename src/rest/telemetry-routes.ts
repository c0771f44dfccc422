import { z } from "zod";
import { eventHistory, logHistory } from "../telemetry/service.js";
import { k8sEventJson, podLogJson } from "../telemetry/frames.js";
import { idParams, ok, route } from "./route.js";

// Brokkr's history query: `since` an ISO-8601 time (clamped to the window), `limit` an integer
// (default 500, clamped to 1..5000). Anything else is a 400, as Brokkr's query extractor answers.
const historyQuery = z.object({
  since: z.string().datetime({ offset: true }).pipe(z.coerce.date()).optional(),
  limit: z
    .string()
    .regex(/^-?\d{1,12}$/, "must be an integer")
    .transform(Number)
    .optional(),
});

export const telemetryRoutes = [
  route({
    op: "list_telemetry_events",
    roles: ["ADMIN", "GENERATOR"],
    params: idParams,
    query: historyQuery,
    handle: async ({ who, params, query, deps }) => {
      const { rows, retention } = await eventHistory(deps.db, who, params.id, query, deps.telemetry);
      return ok({ retention, events: rows.map(k8sEventJson) });
    },
  }),
  route({
    op: "list_telemetry_logs",
    roles: ["ADMIN", "GENERATOR"],
    params: idParams,
    query: historyQuery,
    handle: async ({ who, params, query, deps }) => {
      const { rows, retention } = await logHistory(deps.db, who, params.id, query, deps.telemetry);
      return ok({ retention, lines: rows.map(podLogJson) });
    },
  }),
];
