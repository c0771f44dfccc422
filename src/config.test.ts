import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("configuration", () => {
  it("fills in defaults for an empty environment", () => {
    const config = loadConfig({});
    expect(config).toEqual({
      database: {
        url: undefined,
        poolSize: 10,
        embeddedDir: ".brokkr/pgdata",
        embeddedPort: 5433,
        migrate: true,
        statementTimeoutMs: 10_000,
        connectTimeoutMs: 5_000,
        schema: undefined,
      },
      broker: {
        host: "0.0.0.0",
        port: 3000,
        adminPakHash: undefined,
        bodyLimitBytes: 10 * 1024 * 1024,
        maxQueryDepth: 10,
        maxQueryCost: 200_000,
        shutdownTimeoutMs: 5000,
        introspection: true,
        maxSubscriberBufferBytes: 8 * 1024 * 1024,
        maxSubscriptionsPerConnection: 50,
        maxDocumentBytes: 64 * 1024,
        maxTokens: 1000,
        maxFragmentSpreads: 20,
        maxSelections: 2000,
        maxAliases: 20,
        maxDirectives: 50,
        maxMutationsPerRequest: 10,
        maxResponseBytes: 64 * 1024 * 1024,
        maxUnauthenticatedSockets: 1000,
        maxWaitingUpgrades: 10_000,
        upgradeWaitMs: 10_000,
        maxSubscriptionsPerIdentity: 200,
        agentWs: { maxFrameBytes: 1024 * 1024, maxSocketsPerAgent: 1 },
        input: {
          maxYamlBytes: 8 * 1024 * 1024,
          maxYamlDocuments: 1000,
          maxHealthEntries: 1000,
          idempotencyTtlSeconds: 86_400,
          templateRenderTimeoutMs: 5000,
          maxConcurrentRenders: 4,
        },
        diagnostics: { cleanupIntervalMs: 900_000 },
        telemetry: { retentionSeconds: 21_600, maxRowsPerStack: 1000, maxLineBytes: 16_384 },
        workOrders: { maintenanceIntervalSeconds: 10 },
        webhooks: {
          encryptionKey: undefined,
          deliveryIntervalMs: 5000,
          batchSize: 50,
          cleanupIntervalMs: 3_600_000,
          retentionMs: 7 * 86_400_000,
          retryBaseMs: 2000,
        },
        audit: { retentionDays: 90, queueCapacity: 10_000, trustForwardedFor: false },
      },
      fleet: { overdueSeconds: 300 },
      cors: {
        allowedOrigins: ["*"],
        allowedMethods: ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"],
        allowedHeaders: [],
        maxAgeSeconds: 3600,
      },
      rollouts: { intervalMs: 2000, leaseTtlMs: 30_000, taskTimeoutSeconds: 1800 },
      releases: { signingKey: undefined },
      stickers: { namespace: "brokkr-system" },
      log: { level: "info" },
      source: { file: undefined, env: {}, reloadDebounceMs: 5000 },
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("reads BROKKR__ variables with nesting by __", () => {
    const config = loadConfig({
      BROKKR__DATABASE__URL: "postgresql://u@h:5432/db",
      BROKKR__BROKER__PORT: "8080",
      BROKKR__DATABASE__MIGRATE: "false",
      BROKKR__CORS__ALLOWED_ORIGINS: "https://a.example, https://b.example",
      BROKKR__LOG__LEVEL: "debug",
    });
    expect(config.database).toMatchObject({ url: "postgresql://u@h:5432/db", migrate: false });
    expect(config.broker.port).toBe(8080);
    expect(config.cors.allowedOrigins).toEqual(["https://a.example", "https://b.example"]);
    expect(config.log.level).toBe("debug");
  });

  it("ignores variables outside its schema", () => {
    expect(() => loadConfig({ PATH: "/bin", BROKKR__UNKNOWN: "x" })).not.toThrow();
  });

  it.each([
    ["BROKKR__BROKER__PORT", "not-a-port"],
    ["BROKKR__BROKER__PORT", "70000"],
    ["BROKKR__DATABASE__URL", "not a url"],
    ["BROKKR__DATABASE__POOL_SIZE", "0"],
    ["BROKKR__DATABASE__MIGRATE", "maybe"],
    ["BROKKR__BROKER__BODY_LIMIT_BYTES", "10"],
    ["BROKKR__BROKER__MAX_QUERY_DEPTH", "1"],
    ["BROKKR__LOG__LEVEL", "loud"],
    ["BROKKR__BROKER__PAK_HASH", "abc"],
    ["BROKKR__TEMPLATES__RENDER_TIMEOUT_MS", "5"],
    ["BROKKR__TEMPLATES__MAX_CONCURRENT_RENDERS", "0"],
  ])("reports a bad %s (%s) by name", (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name}: `));
  });

  it("reports every bad variable at once, one line each", () => {
    const problems = problemsOf({ BROKKR__BROKER__PORT: "x", BROKKR__LOG__LEVEL: "loud", BROKKR__DATABASE__URL: "nope" });
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual([
      "BROKKR__BROKER__PORT",
      "BROKKR__DATABASE__URL",
      "BROKKR__LOG__LEVEL",
    ]);
  });

  it("accepts only a 64-character lowercase SHA-256 hex as the admin PAK hash", () => {
    const hash = "a".repeat(64);
    expect(loadConfig({ BROKKR__BROKER__PAK_HASH: hash }).broker.adminPakHash).toBe(hash);
    for (const bad of ["A".repeat(64), "a".repeat(63), "g".repeat(64), `${hash}0`]) {
      expect(problemsOf({ BROKKR__BROKER__PAK_HASH: bad })[0]).toMatch(/^BROKKR__BROKER__PAK_HASH: .*generate-pak/);
    }
  });

  it("reads the diagnostic clean-up interval in seconds and refuses one outside 1..86400", () => {
    const config = loadConfig({ BROKKR__BROKER__DIAGNOSTIC_CLEANUP_INTERVAL_SECONDS: "60" });
    expect(config.broker.diagnostics.cleanupIntervalMs).toBe(60_000);
    for (const bad of ["0", "86401", "soon"]) {
      expect(problemsOf({ BROKKR__BROKER__DIAGNOSTIC_CLEANUP_INTERVAL_SECONDS: bad })[0]).toMatch(
        /^BROKKR__BROKER__DIAGNOSTIC_CLEANUP_INTERVAL_SECONDS: /,
      );
    }
  });
});
