import { EventEmitter } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { type BrokerConfig, ConfigError, loadConfig } from "../config.js";
import { moduleLogger } from "../logger.js";

const log = moduleLogger("live-config");

/**
 * Settings a running broker applies without a restart, as dotted paths (a section or one
 * setting): their consumers read `current` each time (per request, per task run). Everything
 * else (ports, pools, limits, the database) is read once at start; a reload reports it as changed
 * but awaiting a restart.
 */
const DYNAMIC_PATHS = [
  "log",
  "cors",
  "broker.webhooks.deliveryIntervalMs",
  "broker.webhooks.batchSize",
  "broker.webhooks.cleanupIntervalMs",
  "broker.webhooks.retentionMs",
  "broker.diagnostics.cleanupIntervalMs",
  "broker.workOrders.maintenanceIntervalSeconds",
  "broker.audit.retentionDays",
  "fleet",
  "rollouts",
] as const;
const isDynamic = (key: string) => DYNAMIC_PATHS.some((path) => key === path || key.startsWith(`${path}.`));

/** Values never shown by a reload answer, only that they changed. */
const SECRET_KEYS: ReadonlySet<string> = new Set([
  "database.url",
  "broker.adminPakHash",
  "broker.webhooks.encryptionKey",
  "releases.signingKey",
]);

export interface ConfigChange {
  key: string;
  oldValue: string;
  newValue: string;
  /** Applied now; false: takes effect at the next restart. */
  applied: boolean;
}

export interface ReloadResult {
  reloadedAt: Date;
  changes: ConfigChange[];
  /** Keys that changed but need a restart. */
  restartRequired: string[];
}

export interface LiveConfigEvents {
  change: [config: BrokerConfig, changes: ConfigChange[]];
}

/**
 * The broker's configuration as it is now: the start-up config with hot-reloadable settings
 * replaced by each reload's values. Reloads come from `reload()` (the admin endpoint and
 * mutation) and, when a file is configured, from a watcher on its folder with a debounce, because
 * editors and Kubernetes ConfigMap updates write a file in several steps.
 */
export class LiveConfig extends EventEmitter<LiveConfigEvents> {
  private config: BrokerConfig;
  private watcher: fs.FSWatcher | null = null;
  private debounce: NodeJS.Timeout | null = null;

  constructor(initial: BrokerConfig) {
    super();
    this.config = initial;
  }

  get current(): BrokerConfig {
    return this.config;
  }

  isDynamic(key: string): boolean {
    return isDynamic(key);
  }

  isSecret(key: string): boolean {
    return SECRET_KEYS.has(key);
  }

  /** Re-reads the same layers (defaults, file, environment); throws ConfigError, keeping the old config. */
  reload(): ReloadResult {
    const next = loadConfig({ ...this.config.source.env });
    const before = flattenConfig(this.config);
    const after = flattenConfig(next);
    const changes: ConfigChange[] = [];
    for (const key of new Set([...before.keys(), ...after.keys()])) {
      const oldValue = before.get(key) ?? "";
      const newValue = after.get(key) ?? "";
      if (oldValue === newValue) continue;
      const secret = SECRET_KEYS.has(key);
      changes.push({
        key,
        oldValue: secret ? "(hidden)" : oldValue,
        newValue: secret ? "(hidden, changed)" : newValue,
        applied: isDynamic(key),
      });
    }
    const applied = changes.filter((c) => c.applied);
    if (applied.length > 0) {
      this.config = withDynamicFrom(this.config, next);
      this.emit("change", this.config, applied);
    }
    const result = { reloadedAt: new Date(), changes, restartRequired: changes.filter((c) => !c.applied).map((c) => c.key) };
    log.info({ changed: changes.map((c) => c.key), restartRequired: result.restartRequired }, "configuration reloaded");
    return result;
  }

  /** Watches the configuration file's folder (a ConfigMap swaps a symlink, not the file). */
  watch(): void {
    const file = this.config.source.file;
    if (!file || this.watcher) return;
    const name = path.basename(file);
    try {
      this.watcher = fs.watch(path.dirname(path.resolve(file)), (_event, changed) => {
        if (changed === null || changed === name || changed === "..data") this.scheduleReload();
      });
      this.watcher.on("error", (err) =>
        log.warn({ err }, "configuration file watcher failed; reload by POST /api/v1/admin/config/reload"),
      );
    } catch (err) {
      log.warn({ err }, "cannot watch the configuration file; reload by POST /api/v1/admin/config/reload");
    }
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = null;
  }

  private scheduleReload(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = null;
      try {
        this.reload();
      } catch (err) {
        const problems = err instanceof ConfigError ? err.problems : [String(err)];
        log.warn({ problems }, "configuration file change refused; the previous configuration stays");
      }
    }, this.config.source.reloadDebounceMs);
    this.debounce.unref();
  }
}

/** Dotted paths of every setting (not its source) with a string form of its value. */
export function flattenConfig(config: BrokerConfig): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (value: unknown, prefix: string) => {
    // Key material (the webhook key) is a leaf: never walked into, never printed.
    if (Buffer.isBuffer(value)) return void out.set(prefix, `(${value.length} bytes)`);
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, prefix ? `${prefix}.${k}` : k);
    } else {
      out.set(prefix, Array.isArray(value) ? value.join(",") : value === undefined ? "" : String(value));
    }
  };
  const { source: _source, ...settings } = config;
  walk(settings, "");
  return out;
}

/** `base` with each dynamic setting taken from `next` (copies along each path, frozen). */
function withDynamicFrom(base: BrokerConfig, next: BrokerConfig): BrokerConfig {
  // The config is a tree of plain frozen objects; walked here by path, hence the record view.
  let merged = base as unknown as Tree;
  for (const path of DYNAMIC_PATHS)
    merged = withValueAt(merged, path.split("."), valueAt(next as unknown as Tree, path.split(".")));
  return merged as unknown as BrokerConfig;
}

type Tree = { readonly [key: string]: unknown };

function valueAt(tree: Tree, path: string[]): unknown {
  return path.reduce<unknown>((node, key) => (node as Tree | undefined)?.[key], tree);
}

function withValueAt(tree: Tree, [head = "", ...rest]: string[], value: unknown): Tree {
  const child = rest.length > 0 ? withValueAt((tree[head] as Tree | undefined) ?? {}, rest, value) : value;
  return Object.freeze({ ...tree, [head]: child });
}
