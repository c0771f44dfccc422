import type { Identity } from "../auth/identity.js";
import { requireAdmin } from "../auth/policy.js";
import { ConfigError } from "../config.js";
import { BrokkrError } from "../errors.js";
import { flattenConfig, type LiveConfig, type ReloadResult } from "./live-config.js";

/** Admin only. A file that no longer parses leaves the running configuration as it was. */
export function reloadConfiguration(live: LiveConfig, identity: Identity | null): ReloadResult {
  requireAdmin(identity);
  try {
    return live.reload();
  } catch (err) {
    if (err instanceof ConfigError)
      throw new BrokkrError(
        "INTERNAL_SERVER_ERROR",
        `configuration not reloaded, the running one stays: ${err.problems.join("; ")}`,
        undefined,
        "config_reload_failed",
      );
    throw err;
  }
}

/** One line for a reload answer: what happens next. */
export function reloadMessage(result: ReloadResult): string {
  if (result.changes.length === 0) return "no settings changed";
  if (result.restartRequired.length === 0) return "all changes applied";
  return `applied what can change live; restart to apply: ${result.restartRequired.join(", ")}`;
}

export interface ConfigSetting {
  key: string;
  value: string;
  dynamic: boolean;
}

/** The running settings for an admin, secrets hidden. */
export function describeConfiguration(live: LiveConfig, identity: Identity | null): ConfigSetting[] {
  requireAdmin(identity);
  return [...flattenConfig(live.current)].map(([key, value]) => ({
    key,
    value: live.isSecret(key) ? "(hidden)" : value,
    dynamic: live.isDynamic(key),
  }));
}
