import { createPrivateKey, type KeyObject } from "node:crypto";
import { z } from "zod";
import { ConfigFileError, readConfigFile } from "./live-config/file.js";
import type { InputLimits } from "./validation.js";

const boolish = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

/** Every BROKKR__ variable the broker reads; `__` nests. */
const envSchema = z.object({
  BROKKR__DATABASE__URL: z.string().url().optional(),
  BROKKR__DATABASE__POOL_SIZE: z.coerce.number().int().min(1).max(500).default(10),
  BROKKR__DATABASE__EMBEDDED_DIR: z.string().min(1).default(".brokkr/pgdata"),
  BROKKR__DATABASE__EMBEDDED_PORT: z.coerce.number().int().min(1).max(65535).default(5433),
  BROKKR__DATABASE__MIGRATE: boolish.default(true),
  BROKKR__DATABASE__STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  BROKKR__DATABASE__CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  // Several brokers (tenants, test instances) may share one PostgreSQL, each in its own schema.
  BROKKR__DATABASE__SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lower-case PostgreSQL identifier (letters, digits, _; at most 63)")
    .refine((s) => !s.startsWith("pg_"), "must not start with pg_ (reserved by PostgreSQL)")
    .optional(),
  BROKKR__BROKER__HOST: z.string().min(1).default("0.0.0.0"),
  BROKKR__BROKER__PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  BROKKR__BROKER__PAK_HASH: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "must be the 64-character SHA-256 hex printed by `npm run generate-pak`")
    .optional(),
  BROKKR__BROKER__BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(10 * 1024 * 1024),
  BROKKR__BROKER__MAX_SUBSCRIBER_BUFFER_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(8 * 1024 * 1024),
  BROKKR__BROKER__MAX_SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().min(1).max(10_000).default(50),
  BROKKR__BROKER__MAX_QUERY_DEPTH: z.coerce.number().int().min(2).max(100).default(10),
  BROKKR__BROKER__MAX_QUERY_COST: z.coerce.number().int().min(10).default(200_000),
  BROKKR__BROKER__MAX_DOCUMENT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024),
  BROKKR__BROKER__MAX_TOKENS: z.coerce.number().int().min(100).default(1000),
  BROKKR__BROKER__MAX_FRAGMENT_SPREADS: z.coerce.number().int().min(0).default(20),
  BROKKR__BROKER__MAX_SELECTIONS: z.coerce.number().int().min(10).default(2000),
  BROKKR__BROKER__MAX_ALIASES: z.coerce.number().int().min(0).default(20),
  BROKKR__BROKER__MAX_DIRECTIVES: z.coerce.number().int().min(0).default(50),
  BROKKR__BROKER__MAX_MUTATIONS_PER_REQUEST: z.coerce.number().int().min(1).default(10),
  BROKKR__BROKER__MAX_RESPONSE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024 * 1024),
  BROKKR__BROKER__MAX_UNAUTHENTICATED_SOCKETS: z.coerce.number().int().min(1).default(1000),
  BROKKR__BROKER__MAX_WAITING_UPGRADES: z.coerce.number().int().min(0).default(10_000),
  BROKKR__BROKER__UPGRADE_WAIT_MS: z.coerce.number().int().min(1).default(10_000),
  BROKKR__BROKER__MAX_SUBSCRIPTIONS_PER_IDENTITY: z.coerce.number().int().min(1).default(200),
  BROKKR__BROKER__MAX_AGENT_WS_FRAME_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  BROKKR__BROKER__MAX_AGENT_WS_PER_AGENT: z.coerce.number().int().min(1).max(100).default(1),
  BROKKR__BROKER__SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(5000),
  BROKKR__BROKER__INTROSPECTION: boolish.default(true),
  BROKKR__BROKER__MAX_YAML_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(8 * 1024 * 1024),
  BROKKR__BROKER__MAX_YAML_DOCUMENTS: z.coerce.number().int().min(1).max(100_000).default(1000),
  BROKKR__BROKER__MAX_HEALTH_ENTRIES: z.coerce.number().int().min(1).max(100_000).default(1000),
  BROKKR__BROKER__IDEMPOTENCY_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(30 * 86_400)
    .default(86_400),
  // Diagnostics (src/diagnostics): how often expired requests and results are deleted (Brokkr: 900 s).
  BROKKR__BROKER__DIAGNOSTIC_CLEANUP_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
  // Cluster telemetry (src/telemetry): retention at most Brokkr's 6-hour ceiling; per batch, rows
  // per stack beyond the cap become one gap record, and longer lines are truncated.
  BROKKR__BROKER__TELEMETRY_RETENTION_HOURS: z.coerce.number().min(0.01).max(6).default(6),
  BROKKR__BROKER__TELEMETRY_MAX_ROWS_PER_STACK: z.coerce.number().int().min(1).max(10_000).default(1000),
  BROKKR__BROKER__TELEMETRY_MAX_LINE_BYTES: z.coerce.number().int().min(256).max(1_048_576).default(16_384),
  // Work orders (src/work-orders): how often stale claims and due retries are requeued (Brokkr: 10 s).
  BROKKR__BROKER__WORK_ORDER_MAINTENANCE_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
  // Stack templates: one render (parameter check included) may run this long in its worker.
  BROKKR__TEMPLATES__RENDER_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  BROKKR__TEMPLATES__MAX_CONCURRENT_RENDERS: z.coerce.number().int().min(1).max(64).default(4),
  // ---- webhooks (src/webhooks): Brokkr's defaults ----
  BROKKR__BROKER__WEBHOOK_ENCRYPTION_KEY: z
    .string()
    .refine((v) => webhookKeyBytes(v) !== null, "must be 32 bytes, as 64 hex characters or base64")
    .optional(),
  BROKKR__BROKER__WEBHOOK_DELIVERY_INTERVAL_SECONDS: z.coerce.number().min(0.01).max(3600).default(5),
  BROKKR__BROKER__WEBHOOK_DELIVERY_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(50),
  BROKKR__BROKER__WEBHOOK_CLEANUP_INTERVAL_SECONDS: z.coerce.number().min(1).max(86_400).default(3600),
  BROKKR__BROKER__WEBHOOK_RETENTION_DAYS: z.coerce.number().min(0.0001).max(3650).default(7),
  BROKKR__BROKER__WEBHOOK_RETRY_BASE_SECONDS: z.coerce.number().min(0).max(3600).default(2),
  // ---- audit log ----
  BROKKR__BROKER__AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(90),
  BROKKR__BROKER__AUDIT_QUEUE_CAPACITY: z.coerce.number().int().min(100).max(1_000_000).default(10_000),
  BROKKR__BROKER__AUDIT_TRUST_FORWARDED_FOR: boolish.default(false),
  // ---- release rollouts (src/rollouts): how often the runner steps jobs, and how long a broker's
  // claim on a job lasts without renewal (a broker that died gives its jobs up after this).
  BROKKR__ROLLOUTS__INTERVAL_MS: z.coerce.number().int().min(10).max(600_000).default(2000),
  BROKKR__ROLLOUTS__LEASE_TTL_SECONDS: z.coerce.number().min(1).max(3600).default(30),
  // A delivered task whose agent has not reported within this fails (its job goes on, or halts at the threshold).
  BROKKR__ROLLOUTS__TASK_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(604_800).default(1800),
  // ---- release orchestration (src/evidence) ----
  // An Ed25519 private key (PKCS#8 PEM) evidence packets are signed with; generated and kept
  // in the database (sealed by the webhook keyring) when unset.
  BROKKR__RELEASES__SIGNING_KEY: z
    .string()
    .refine((v) => ed25519PrivateKey(v) !== null, "must be an Ed25519 private key in PKCS#8 PEM")
    .optional(),
  // The console's "objects pending too long": an unreported latest object older than this (src/fleet).
  BROKKR__FLEET__OVERDUE_SECONDS: z.coerce.number().int().min(1).max(604_800).default(300),
  // ---- version stickers (src/stickers): where agents write their sticker ConfigMaps ----
  BROKKR__STICKERS__NAMESPACE: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a Kubernetes namespace name (DNS label)")
    .default("brokkr-system"),
  BROKKR__CORS__ALLOWED_ORIGINS: z.string().default("*"),
  BROKKR__CORS__ALLOWED_METHODS: z.string().default("GET,HEAD,PUT,PATCH,POST,DELETE"),
  // Empty: answer a preflight with the headers it asks for.
  BROKKR__CORS__ALLOWED_HEADERS: z.string().default(""),
  BROKKR__CORS__MAX_AGE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(3600),
  // Brokkr's name for the optional file layered between the defaults and the environment.
  BROKKR_CONFIG_FILE: z.string().min(1).optional(),
  BROKKR__CONFIG__RELOAD_DEBOUNCE_MS: z.coerce.number().int().min(10).max(600_000).default(5000),
  BROKKR__LOG__LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export interface TelemetryLimits {
  retentionSeconds: number;
  maxRowsPerStack: number;
  maxLineBytes: number;
}

export type BrokerConfig = Readonly<{
  database: {
    url?: string;
    poolSize: number;
    embeddedDir: string;
    embeddedPort: number;
    migrate: boolean;
    statementTimeoutMs: number;
    connectTimeoutMs: number;
    /** The PostgreSQL schema this broker's tables live in (created and migrated); public when unset. */
    schema?: string;
  };
  broker: {
    host: string;
    port: number;
    adminPakHash?: string;
    bodyLimitBytes: number;
    maxSubscriberBufferBytes: number;
    maxSubscriptionsPerConnection: number;
    maxQueryDepth: number;
    maxQueryCost: number;
    maxDocumentBytes: number;
    maxTokens: number;
    maxFragmentSpreads: number;
    maxSelections: number;
    maxAliases: number;
    maxDirectives: number;
    maxMutationsPerRequest: number;
    maxResponseBytes: number;
    maxUnauthenticatedSockets: number;
    /** Upgrades past maxUnauthenticatedSockets wait for a place, this many at most, for at most upgradeWaitMs. */
    maxWaitingUpgrades: number;
    upgradeWaitMs: number;
    maxSubscriptionsPerIdentity: number;
    /** Brokkr's agent websocket (src/brokkr-ws): largest frame, sockets per agent per broker. */
    agentWs: { maxFrameBytes: number; maxSocketsPerAgent: number };
    shutdownTimeoutMs: number;
    introspection: boolean;
    input: InputLimits;
    diagnostics: { cleanupIntervalMs: number };
    /** Cluster telemetry (src/telemetry). */
    telemetry: TelemetryLimits;
    workOrders: { maintenanceIntervalSeconds: number };
    webhooks: WebhookConfig;
    /** The audit log (src/audit): retention, the writer's queue, whose address to record. */
    audit: { retentionDays: number; queueCapacity: number; trustForwardedFor: boolean };
  };
  /** Fleet verdicts (src/fleet): when an unreported object counts as overdue. */
  fleet: { overdueSeconds: number };
  cors: { allowedOrigins: string[]; allowedMethods: string[]; allowedHeaders: string[]; maxAgeSeconds: number };
  /** The release rollout runner (src/rollouts). */
  rollouts: { intervalMs: number; leaseTtlMs: number; taskTimeoutSeconds: number };
  /** Release orchestration: the evidence signing key (PKCS#8 PEM) when configured. */
  releases: { signingKey?: string };
  /** Version stickers (src/stickers): the namespace named to agents in each releaseContext. */
  stickers: { namespace: string };
  log: { level: string };
  /** Where this config came from, so a reload reads the same layers again (src/live-config). */
  source: { file?: string; env: Readonly<Record<string, string | undefined>>; reloadDebounceMs: number };
}>;

/** Webhook delivery settings (src/webhooks). */
export interface WebhookConfig {
  /** AES-256-GCM key for URLs, auth headers and signing secrets; generated and kept in the database when unset. */
  encryptionKey?: Buffer;
  deliveryIntervalMs: number;
  batchSize: number;
  cleanupIntervalMs: number;
  /** Finished deliveries and dispatched events older than this are deleted. */
  retentionMs: number;
  /** First retry delay; each later one doubles (with jitter). */
  retryBaseMs: number;
}

/** A 32-byte key given as 64 hex characters or as base64; null otherwise. */
export function webhookKeyBytes(value: string): Buffer | null {
  const text = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, "hex");
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const bytes = Buffer.from(text, "base64");
    if (bytes.length === 32) return bytes;
  }
  return null;
}

/** The Ed25519 private key of a PKCS#8 PEM; null for anything else. */
export function ed25519PrivateKey(pem: string): KeyObject | null {
  try {
    const key = createPrivateKey({ key: pem, format: "pem" });
    return key.asymmetricKeyType === "ed25519" ? key : null;
  } catch {
    return null;
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.join("\n")}`);
  }
}

/** Parses the environment; throws ConfigError listing one line per bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): BrokerConfig {
  const parsed = envSchema.safeParse(layered(env));
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const e = parsed.data;
  return Object.freeze({
    database: {
      url: e.BROKKR__DATABASE__URL,
      poolSize: e.BROKKR__DATABASE__POOL_SIZE,
      embeddedDir: e.BROKKR__DATABASE__EMBEDDED_DIR,
      embeddedPort: e.BROKKR__DATABASE__EMBEDDED_PORT,
      migrate: e.BROKKR__DATABASE__MIGRATE,
      statementTimeoutMs: e.BROKKR__DATABASE__STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: e.BROKKR__DATABASE__CONNECT_TIMEOUT_MS,
      schema: e.BROKKR__DATABASE__SCHEMA,
    },
    broker: {
      host: e.BROKKR__BROKER__HOST,
      port: e.BROKKR__BROKER__PORT,
      adminPakHash: e.BROKKR__BROKER__PAK_HASH,
      bodyLimitBytes: e.BROKKR__BROKER__BODY_LIMIT_BYTES,
      maxSubscriberBufferBytes: e.BROKKR__BROKER__MAX_SUBSCRIBER_BUFFER_BYTES,
      maxSubscriptionsPerConnection: e.BROKKR__BROKER__MAX_SUBSCRIPTIONS_PER_CONNECTION,
      maxQueryDepth: e.BROKKR__BROKER__MAX_QUERY_DEPTH,
      maxQueryCost: e.BROKKR__BROKER__MAX_QUERY_COST,
      maxDocumentBytes: e.BROKKR__BROKER__MAX_DOCUMENT_BYTES,
      maxTokens: e.BROKKR__BROKER__MAX_TOKENS,
      maxFragmentSpreads: e.BROKKR__BROKER__MAX_FRAGMENT_SPREADS,
      maxSelections: e.BROKKR__BROKER__MAX_SELECTIONS,
      maxAliases: e.BROKKR__BROKER__MAX_ALIASES,
      maxDirectives: e.BROKKR__BROKER__MAX_DIRECTIVES,
      maxMutationsPerRequest: e.BROKKR__BROKER__MAX_MUTATIONS_PER_REQUEST,
      maxResponseBytes: e.BROKKR__BROKER__MAX_RESPONSE_BYTES,
      maxUnauthenticatedSockets: e.BROKKR__BROKER__MAX_UNAUTHENTICATED_SOCKETS,
      maxWaitingUpgrades: e.BROKKR__BROKER__MAX_WAITING_UPGRADES,
      upgradeWaitMs: e.BROKKR__BROKER__UPGRADE_WAIT_MS,
      maxSubscriptionsPerIdentity: e.BROKKR__BROKER__MAX_SUBSCRIPTIONS_PER_IDENTITY,
      agentWs: {
        maxFrameBytes: e.BROKKR__BROKER__MAX_AGENT_WS_FRAME_BYTES,
        maxSocketsPerAgent: e.BROKKR__BROKER__MAX_AGENT_WS_PER_AGENT,
      },
      shutdownTimeoutMs: e.BROKKR__BROKER__SHUTDOWN_TIMEOUT_MS,
      introspection: e.BROKKR__BROKER__INTROSPECTION,
      input: {
        maxYamlBytes: e.BROKKR__BROKER__MAX_YAML_BYTES,
        maxYamlDocuments: e.BROKKR__BROKER__MAX_YAML_DOCUMENTS,
        maxHealthEntries: e.BROKKR__BROKER__MAX_HEALTH_ENTRIES,
        idempotencyTtlSeconds: e.BROKKR__BROKER__IDEMPOTENCY_TTL_SECONDS,
        templateRenderTimeoutMs: e.BROKKR__TEMPLATES__RENDER_TIMEOUT_MS,
        maxConcurrentRenders: e.BROKKR__TEMPLATES__MAX_CONCURRENT_RENDERS,
      },
      diagnostics: { cleanupIntervalMs: e.BROKKR__BROKER__DIAGNOSTIC_CLEANUP_INTERVAL_SECONDS * 1000 },
      telemetry: {
        retentionSeconds: Math.round(e.BROKKR__BROKER__TELEMETRY_RETENTION_HOURS * 3600),
        maxRowsPerStack: e.BROKKR__BROKER__TELEMETRY_MAX_ROWS_PER_STACK,
        maxLineBytes: e.BROKKR__BROKER__TELEMETRY_MAX_LINE_BYTES,
      },
      workOrders: { maintenanceIntervalSeconds: e.BROKKR__BROKER__WORK_ORDER_MAINTENANCE_INTERVAL_SECONDS },
      webhooks: {
        encryptionKey: e.BROKKR__BROKER__WEBHOOK_ENCRYPTION_KEY
          ? (webhookKeyBytes(e.BROKKR__BROKER__WEBHOOK_ENCRYPTION_KEY) ?? undefined)
          : undefined,
        deliveryIntervalMs: e.BROKKR__BROKER__WEBHOOK_DELIVERY_INTERVAL_SECONDS * 1000,
        batchSize: e.BROKKR__BROKER__WEBHOOK_DELIVERY_BATCH_SIZE,
        cleanupIntervalMs: e.BROKKR__BROKER__WEBHOOK_CLEANUP_INTERVAL_SECONDS * 1000,
        retentionMs: e.BROKKR__BROKER__WEBHOOK_RETENTION_DAYS * 86_400_000,
        retryBaseMs: e.BROKKR__BROKER__WEBHOOK_RETRY_BASE_SECONDS * 1000,
      },
      audit: {
        retentionDays: e.BROKKR__BROKER__AUDIT_RETENTION_DAYS,
        queueCapacity: e.BROKKR__BROKER__AUDIT_QUEUE_CAPACITY,
        trustForwardedFor: e.BROKKR__BROKER__AUDIT_TRUST_FORWARDED_FOR,
      },
    },
    fleet: { overdueSeconds: e.BROKKR__FLEET__OVERDUE_SECONDS },
    cors: {
      allowedOrigins: commaList(e.BROKKR__CORS__ALLOWED_ORIGINS),
      allowedMethods: commaList(e.BROKKR__CORS__ALLOWED_METHODS).map((m) => m.toUpperCase()),
      allowedHeaders: commaList(e.BROKKR__CORS__ALLOWED_HEADERS),
      maxAgeSeconds: e.BROKKR__CORS__MAX_AGE_SECONDS,
    },
    rollouts: {
      intervalMs: e.BROKKR__ROLLOUTS__INTERVAL_MS,
      leaseTtlMs: Math.round(e.BROKKR__ROLLOUTS__LEASE_TTL_SECONDS * 1000),
      taskTimeoutSeconds: e.BROKKR__ROLLOUTS__TASK_TIMEOUT_SECONDS,
    },
    releases: { signingKey: e.BROKKR__RELEASES__SIGNING_KEY },
    stickers: { namespace: e.BROKKR__STICKERS__NAMESPACE },
    log: { level: e.BROKKR__LOG__LEVEL },
    source: Object.freeze({
      file: e.BROKKR_CONFIG_FILE,
      env: Object.freeze({ ...env }),
      reloadDebounceMs: e.BROKKR__CONFIG__RELOAD_DEBOUNCE_MS,
    }),
  });
}

function commaList(value: string): string[] {
  return value
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
}

/** Defaults, then the optional BROKKR_CONFIG_FILE, then the environment (Brokkr's layering). */
function layered(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const file = env.BROKKR_CONFIG_FILE;
  if (!file) return env;
  try {
    const set = Object.entries(env).filter(([, value]) => value !== undefined);
    return { ...readConfigFile(file), ...Object.fromEntries(set) };
  } catch (err) {
    if (err instanceof ConfigFileError) throw new ConfigError([`BROKKR_CONFIG_FILE: ${err.message}`]);
    throw err;
  }
}

/** A config for tests and embedding: defaults plus overrides, without reading process.env. */
export function configFrom(overrides: Record<string, string | undefined>): BrokerConfig {
  return loadConfig(overrides);
}
