import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { startTestBroker } from "../../test/broker.js";
import { createGenerator } from "../../test/factories.js";
import { rootLogger } from "../logger.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "brokkr-live-config-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, "broker.toml");
const writeConfig = (text: string) => fs.writeFileSync(file, text);
writeConfig(`[log]\nlevel = "silent"\n[cors]\nallowed_origins = ["https://old.example"]\n`);

const WEBHOOK_KEY = "ab".repeat(32);
// No BROKKR__LOG__LEVEL in the environment, which would win over the file's.
const broker = await startTestBroker({
  BROKKR_CONFIG_FILE: file,
  // Long enough that each test's own reload comes first (else the watcher applies the file
  // first and the reload finds nothing changed), short enough for the watcher's own test.
  BROKKR__CONFIG__RELOAD_DEBOUNCE_MS: "3000",
  BROKKR__LOG__LEVEL: undefined,
  BROKKR__BROKER__WEBHOOK_ENCRYPTION_KEY: WEBHOOK_KEY,
});
const reload = (pak: string | null = broker.adminPak) =>
  fetch(`${broker.url}/api/v1/admin/config/reload`, {
    method: "POST",
    headers: pak ? { authorization: `Bearer ${pak}` } : {},
  });
const allowedOrigin = async (origin: string) =>
  (await fetch(`${broker.url}/healthz`, { headers: { origin } })).headers.get("access-control-allow-origin");
const preflight = (origin: string) =>
  fetch(`${broker.url}/graphql`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
  });

describe("live configuration", () => {
  it("applies CORS origins, methods and max-age from the file on reload, and answers what changed", async () => {
    expect(await allowedOrigin("https://old.example")).toBe("https://old.example");
    writeConfig(
      `[log]\nlevel = "silent"\n[cors]\nallowed_origins = ["https://new.example"]\nallowed_methods = ["GET", "POST"]\nmax_age_seconds = 120\n`,
    );
    const res = await reload();
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.success).toBe(true);
    expect(body.changes).toEqual(
      expect.arrayContaining([
        { key: "cors.allowedOrigins", old_value: "https://old.example", new_value: "https://new.example", applied: true },
        { key: "cors.maxAgeSeconds", old_value: "3600", new_value: "120", applied: true },
      ]),
    );
    expect(await allowedOrigin("https://old.example")).toBeNull();
    expect(await allowedOrigin("https://new.example")).toBe("https://new.example");
    const answer = await preflight("https://new.example");
    expect(answer.headers.get("access-control-allow-methods")).toBe("GET,POST");
    expect(answer.headers.get("access-control-max-age")).toBe("120");
  });

  it("reports a static setting as awaiting a restart and leaves it as it was", async () => {
    const before = broker.app.liveConfig.current.database.poolSize;
    writeConfig(
      `[log]\nlevel = "silent"\n[cors]\nallowed_origins = ["https://new.example"]\n[database]\npool_size = ${before + 7}\n`,
    );
    const body = await (await reload()).json();
    const pool = body.changes.find((c: { key: string }) => c.key === "database.poolSize");
    expect(pool).toEqual({ key: "database.poolSize", old_value: String(before), new_value: String(before + 7), applied: false });
    expect(body.message).toMatch(/restart to apply: .*database\.poolSize/);
    expect(broker.app.liveConfig.current.database.poolSize).toBe(before);
  });

  it("keeps the running configuration when the file no longer parses", async () => {
    writeConfig(`[cors\nallowed_origins = nope`);
    const res = await reload();
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({
      code: "config_reload_failed",
      message: expect.stringMatching(/BROKKR_CONFIG_FILE/),
    });
    expect(await allowedOrigin("https://new.example")).toBe("https://new.example");
  });

  it("applies background-task settings live: webhook interval and batch size, clean-ups, audit retention", async () => {
    writeConfig(
      `[log]\nlevel = "silent"\n[cors]\nallowed_origins = ["https://new.example"]\n` +
        `[broker]\nwebhook_delivery_interval_seconds = 7\nwebhook_delivery_batch_size = 9\n` +
        `audit_retention_days = 30\nwork_order_maintenance_interval_seconds = 20\n`,
    );
    const body = await (await reload()).json();
    const applied = Object.fromEntries(body.changes.map((c: { key: string; applied: boolean }) => [c.key, c.applied]));
    expect(applied).toMatchObject({
      "broker.webhooks.deliveryIntervalMs": true,
      "broker.webhooks.batchSize": true,
      "broker.audit.retentionDays": true,
      "broker.workOrders.maintenanceIntervalSeconds": true,
    });
    const { broker: settings } = broker.app.liveConfig.current;
    expect([settings.webhooks.deliveryIntervalMs, settings.webhooks.batchSize]).toEqual([7000, 9]);
    expect([settings.audit.retentionDays, settings.workOrders.maintenanceIntervalSeconds]).toEqual([30, 20]);
    // The key material beside them is carried over untouched.
    expect(settings.webhooks.encryptionKey?.toString("hex")).toBe(WEBHOOK_KEY);
  });

  it("applies the fleet's overdue threshold live", async () => {
    writeConfig(`[log]\nlevel = "silent"\n[fleet]\noverdue_seconds = 3600\n`);
    // The folder watcher may apply it first (then the reload finds nothing changed): read the effect.
    expect((await reload()).status).toBe(200);
    expect(broker.app.liveConfig.current.fleet.overdueSeconds).toBe(3600);
  });

  it("is for the admin only", async () => {
    const gen = await createGenerator(broker);
    expect((await reload(gen.pak)).status).toBe(403);
    expect((await reload(null)).status).toBe(401);
    const denied = await broker.gql("mutation { reloadConfiguration { message } }", {}, gen.pak);
    expect(denied.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await broker.gql("{ configuration { key } }", {}, gen.pak)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  it("reloads by itself when the file changes, after the debounce", async () => {
    writeConfig(`[log]\nlevel = "silent"\n[cors]\nallowed_origins = ["https://watched.example"]\n`);
    await vi.waitFor(() => expect(broker.app.liveConfig.current.cors.allowedOrigins).toEqual(["https://watched.example"]), {
      timeout: 15_000,
    });
    expect(await allowedOrigin("https://watched.example")).toBe("https://watched.example");
  });

  it("changes the log level live, over GraphQL too, and shows settings with secrets hidden", async () => {
    writeConfig(`[log]\nlevel = "fatal"\n`);
    const changed = await broker.gql<{ reloadConfiguration: { changes: { key: string; newValue: string; applied: boolean }[] } }>(
      "mutation { reloadConfiguration { changes { key oldValue newValue applied } restartRequired message } }",
    );
    expect(changed.data?.reloadConfiguration.changes).toContainEqual(
      expect.objectContaining({ key: "log.level", newValue: "fatal", applied: true }),
    );
    expect(rootLogger().level).toBe("fatal");
    const settings = await broker.gql<{ configuration: { key: string; value: string; dynamic: boolean }[] }>(
      "{ configuration { key value dynamic } }",
    );
    const byKey = new Map(settings.data?.configuration.map((s) => [s.key, s]));
    expect(byKey.get("database.url")).toEqual({ key: "database.url", value: "(hidden)", dynamic: false });
    expect(byKey.get("broker.webhooks.encryptionKey")).toEqual({
      key: "broker.webhooks.encryptionKey",
      value: "(hidden)",
      dynamic: false,
    });
    expect(JSON.stringify(settings)).not.toMatch(/abab|171,171/);
    expect(byKey.get("log.level")).toEqual({ key: "log.level", value: "fatal", dynamic: true });
    writeConfig(`[log]\nlevel = "silent"\n`);
    await reload();
    expect(rootLogger().level).toBe("silent");
  });
});
