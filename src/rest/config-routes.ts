import { reloadConfiguration, reloadMessage } from "../live-config/service.js";
import { ok, route } from "./route.js";

export const configRoutes = [
  route({
    op: "reload_config",
    roles: ["ADMIN"],
    handle: async ({ who, deps }) => {
      const result = reloadConfiguration(deps.liveConfig, who);
      return ok({
        reloaded_at: result.reloadedAt.toISOString(),
        // Brokkr lists every change; `applied` is ours (false: needs a restart).
        changes: result.changes.map((c) => ({
          key: c.key,
          old_value: c.oldValue,
          new_value: c.newValue,
          applied: c.applied,
        })),
        success: true,
        message: reloadMessage(result),
      });
    },
  }),
];
