import { createAgentRuntime } from "./app.ts";
import { agentConfigFromProcess } from "./config.ts";
import { createLogger } from "./logger.ts";

const result = agentConfigFromProcess();
if (!result.ok) {
  for (const problem of result.problems) console.error(`Invalid configuration: ${problem}`);
  process.exit(1);
}

const logger = createLogger(result.config.logLevel);
const agent = createAgentRuntime(result.config, { logger });
let shuttingDown = false;

async function shutdown(signal: string): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  logger.info({ signal }, "shutting down: finishing the object in hand");
  try {
    await agent.stop();
    process.exit(0);
  } catch (err) {
    logger.error({ err }, "shutdown failed");
    process.exit(1);
  }
}

process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));

agent.start().catch((err: unknown) => {
  logger.fatal({ err }, "agent failed to start");
  void agent.stop().finally(() => process.exit(1));
});
