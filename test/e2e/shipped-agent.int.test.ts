import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { AGENT_RUN_FLAGS } from "../../agent/build.ts";
import { startTestBroker } from "../broker.js";
import { createObject, targetedAgent } from "../factories.js";
import { startFakeKube } from "../fake-kube/index.js";
import { waitUntil } from "../subscriptions.js";

// The agent as it ships: dist/agent.mjs (npm run build:agent, run by pretest) started the way
// docker/Dockerfile.agent starts it, as its own process, against a real broker and the fake API.
const BUNDLE = "dist/agent.mjs";
if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build:agent (pretest does)`);

const broker = await startTestBroker();
const kube = await startFakeKube();
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await kube.stop();
});

function startShipped(pak: string, transport: "websocket" | "rest"): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [...AGENT_RUN_FLAGS, BUNDLE], {
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      PATH: process.env.PATH,
      BROKKR__AGENT__BROKER_URL: broker.url,
      BROKKR__AGENT__PAK: pak,
      BROKKR__AGENT__KUBECONFIG_PATH: kube.kubeconfigPath,
      BROKKR__AGENT__HEALTH_PORT: "0",
      BROKKR__AGENT__TRANSPORT: transport,
      BROKKR__AGENT__LOG__LEVEL: "error",
    },
  });
  children.push(child);
  return { child, exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))) };
}

const configMap = (name: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\ndata:\n  v: "shipped"\n`;

async function statuses(objectId: string): Promise<string[]> {
  const { rows } = await broker.db.sql.query("SELECT status FROM agent_events WHERE deployment_object_id = $1", [objectId]);
  return rows.map((r) => r.status as string);
}

describe("the shipped agent bundle", () => {
  it("runs with the flags docker/Dockerfile.agent gives it", () => {
    const dockerfile = readFileSync("docker/Dockerfile.agent", "utf8");
    expect(dockerfile).toContain(`CMD ${JSON.stringify(["node", ...AGENT_RUN_FLAGS, "agent.mjs"])}`.replaceAll('","', '", "'));
  });

  for (const transport of ["websocket", "rest"] as const) {
    it(`applies an object, reports SUCCESS and exits 0 on SIGTERM (${transport})`, async () => {
      const { gen, agent, stack } = await targetedAgent(broker);
      const name = `shipped-${transport}`;
      const object = await createObject(broker, gen.pak, stack.id, configMap(name));
      const { child, exited } = startShipped(agent.pak, transport);
      await waitUntil(
        async () => (await statuses(object.id)).includes("SUCCESS"),
        () => `no SUCCESS from the shipped agent (${transport})`,
        30_000,
      );
      const live = kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name });
      expect(live?.data?.v).toBe("shipped");
      expect(live?.metadata?.labels?.["k8s.brokkr.io/stack"]).toBe(stack.id);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    });
  }
});
