import { pino } from "pino";
import { afterAll } from "vitest";
import { type AgentRuntime, type AgentRuntimeDeps, createAgentRuntime } from "../agent/app.js";
import { loadAgentConfig } from "../agent/config.js";
import { startTestBroker, type TestBroker } from "./broker.js";
import { type FakeKube, startFakeKube } from "./fake-kube/index.js";

export interface AgentWorld {
  broker: TestBroker;
  kube: FakeKube;
  /** Starts the real agent with this PAK (and `BROKKR__AGENT__*` overrides given without the prefix). */
  launch(pak: string, env?: Record<string, string>, deps?: AgentRuntimeDeps): Promise<AgentRuntime>;
}

/**
 * End to end for one test file: a real broker, the fake Kubernetes API and real agents started
 * against them, all stopped after the file (agents first). `brokerEnv`: the broker's settings.
 */
export async function agentWorld(brokerEnv: Record<string, string> = {}): Promise<AgentWorld> {
  const broker = await startTestBroker(brokerEnv);
  const kube = await startFakeKube();
  const running: AgentRuntime[] = [];
  afterAll(async () => {
    for (const agent of running) await agent.stop();
    await kube.stop();
  });
  return {
    broker,
    kube,
    async launch(pak, env = {}, deps = {}) {
      const overrides = Object.fromEntries(Object.entries(env).map(([k, v]) => [`BROKKR__AGENT__${k}`, v]));
      const result = loadAgentConfig({
        BROKKR__AGENT__BROKER_URL: broker.url,
        BROKKR__AGENT__PAK: pak,
        BROKKR__AGENT__KUBECONFIG_PATH: kube.kubeconfigPath,
        BROKKR__AGENT__HEALTH_PORT: "0",
        BROKKR__AGENT__LOG__LEVEL: "silent",
        ...overrides,
      });
      if (!result.ok) throw new Error(result.problems.join("; "));
      const agent = createAgentRuntime(result.config, { logger: pino({ level: "silent" }), applyRetryBaseMs: 50, ...deps });
      running.push(agent);
      await agent.start();
      return agent;
    },
  };
}
