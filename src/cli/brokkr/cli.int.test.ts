import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { captureCli } from "../../../test/cli.js";
import { startTestBroker, type TestBroker } from "../../../test/broker.js";
import { createAgent, createGenerator } from "../../../test/factories.js";

let broker: TestBroker;
let generator: { id: string; pak: string };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "brokkr-cli-"));
const configFile = path.join(dir, "config", "cli.json");

/** The CLI in this process against the test broker. */
const cli = captureCli;
const cliJson = async (...args: string[]) => {
  const result = await cli("--json", ...args);
  expect(result.stderr).toBe("");
  return JSON.parse(result.stdout);
};

function write(name: string, content: string) {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}
const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

beforeAll(async () => {
  broker = await startTestBroker();
  generator = await createGenerator(broker);
  vi.stubEnv("BROKKR_CLI_CONFIG", configFile);
  vi.stubEnv("BROKKR_URL", "");
  vi.stubEnv("BROKKR_PAK", "");
});

afterEach(() => {
  vi.stubEnv("BROKKR_URL", "");
  vi.stubEnv("BROKKR_PAK", "");
});

describe("brokkr login", () => {
  it("refuses a wrong PAK with the broker's code and stores nothing", async () => {
    const result = await cli("login", "--url", broker.url, "--pak", "brokkr_BR3rVsDa_GK3QN7CDUzYc6iKgMkJ98M2WSimM5t6U8");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/UNAUTHENTICATED/);
    expect(fs.existsSync(configFile)).toBe(false);
  });

  it("stores the URL and PAK readable by the user only, and whoami answers from them", async () => {
    const login = await cliJson("login", "--url", `${broker.url}/`, "--pak", generator.pak);
    expect(login).toMatchObject({ role: "GENERATOR", id: generator.id, saved: configFile });
    expect(fs.statSync(configFile).mode & 0o777).toBe(0o600);
    expect(await cliJson("whoami")).toEqual({ role: "GENERATOR", id: generator.id });
  });

  it("says how to log in when nothing is stored", async () => {
    vi.stubEnv("BROKKR_CLI_CONFIG", path.join(dir, "nowhere.json"));
    const result = await cli("whoami");
    vi.stubEnv("BROKKR_CLI_CONFIG", configFile);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("brokkr login");
  });
});

describe("brokkr apply", () => {
  it("creates the stack and an object, then reports unchanged, then updated, by checksum", async () => {
    const file = write("web.yaml", configMap("web"));
    const first = await cliJson("apply", "web-cli", file, "--label", "prod", "--annotation", "tier=front");
    expect(first).toMatchObject({ result: "created", stack: "web-cli" });
    expect(await cliJson("apply", "web-cli", file)).toMatchObject({ result: "unchanged", id: first.id });
    write("web.yaml", configMap("web-2"));
    const third = await cliJson("apply", "web-cli", file);
    expect(third.result).toBe("updated");
    expect(BigInt(third.sequenceId)).toBeGreaterThan(BigInt(first.sequenceId));
    const stacks = await cliJson("stacks", "--label", "prod");
    expect(stacks).toEqual([expect.objectContaining({ name: "web-cli", labels: ["prod"], latest: third.sequenceId })]);
  });

  it("joins a folder's YAML files in name order into one object", async () => {
    write("bundle/b.yaml", configMap("b"));
    write("bundle/a.yml", configMap("a"));
    write("bundle/notes.txt", "not yaml");
    const applied = await cliJson("apply", "bundle-cli", path.join(dir, "bundle"));
    const { deploymentObject } = (
      await broker.gql<{ deploymentObject: { yamlContent: string } }>(
        "query($id: ID!) { deploymentObject(id: $id) { yamlContent } }",
        { id: applied.id },
      )
    ).data!;
    expect(deploymentObject.yamlContent).toBe(`${configMap("a").trim()}\n---\n${configMap("b").trim()}\n`);
  });

  it("refuses broken YAML naming the file, before calling the broker", async () => {
    const file = write("broken.yaml", "a: [1, 2\n");
    const result = await cli("apply", "broken-cli", file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(file);
    const stacks = await cliJson("stacks");
    expect(stacks.map((s: { name: string }) => s.name)).not.toContain("broken-cli");
  });
});

describe("brokkr agents, as the admin through BROKKR_URL and BROKKR_PAK", () => {
  it("lists agents as a table and as JSON", async () => {
    const agent = await createAgent(broker, { labels: ["edge"] });
    vi.stubEnv("BROKKR_URL", broker.url);
    vi.stubEnv("BROKKR_PAK", broker.adminPak);
    const rows = await cliJson("agents", "--label", "edge");
    expect(rows).toEqual([expect.objectContaining({ id: agent.id, status: "INACTIVE", labels: ["edge"] })]);
    const table = await cli("agents", "--label", "edge");
    expect(table.stdout).toContain(agent.id);
    expect(table.stdout).toMatch(/clusterName/);
  });
});

describe("npx brokkr", () => {
  it("runs from the package's bin and exits with the command's code", async () => {
    const run = promisify(execFile);
    const env = {
      ...process.env,
      BROKKR_URL: broker.url,
      BROKKR_PAK: generator.pak,
      BROKKR_CLI_CONFIG: path.join(dir, "none.json"),
    };
    const { stdout } = await run("node", ["bin/brokkr.mjs", "--json", "whoami"], { env });
    expect(JSON.parse(stdout)).toEqual({ role: "GENERATOR", id: generator.id });
    await expect(run("node", ["bin/brokkr.mjs", "agent", crypto.randomUUID()], { env })).rejects.toMatchObject({ code: 1 });
  });
});
