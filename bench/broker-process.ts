// Child process of bench/delivery.ts and bench/api.ts: one bench broker (harness.ts) in a process
// of its own, so its memory and CPU are measured alone. `npm run build:bench-broker` bundles this
// file with esbuild as the shipped broker is built (build:broker): compiled JavaScript, not a
// TypeScript loader (tsx keeps every function's name with a defineProperty, which costs each
// closure a property dictionary: about 2 KB per subscribed agent that production never pays).
import v8 from "node:v8";
import pg from "pg";
import { startCpuProfile } from "./cpu-profile.js";
import { startBenchBroker } from "./harness.js";

type Command =
  | { type: "rss" }
  | { type: "snapshot"; file: string }
  | { type: "cpu" }
  | { type: "profile-start" }
  | { type: "profile-stop"; file: string }
  | { type: "statements-start" }
  | { type: "statements-stop" }
  | { type: "stop" };

const send = process.send?.bind(process);
if (!send) throw new Error("bench/broker-process.ts runs as a forked child of a bench script");

const broker = await startBenchBroker(process.env.BENCH_LABEL ?? "delivery");
let stopProfile: ((file: string) => Promise<unknown>) | undefined;
const originalQuery = pg.Client.prototype.query;
let statements = 0;
send({ url: broker.url, databaseUrl: broker.databaseUrl, adminPak: broker.adminPak });
process.on("message", async (cmd: Command) => {
  if (cmd.type === "rss") {
    global.gc?.();
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
    send({ ...process.memoryUsage(), spaces });
  } else if (cmd.type === "snapshot") {
    global.gc?.();
    send({ file: v8.writeHeapSnapshot(cmd.file) });
  } else if (cmd.type === "cpu") {
    send(process.cpuUsage());
  } else if (cmd.type === "profile-start") {
    stopProfile = await startCpuProfile();
    send({ started: true });
  } else if (cmd.type === "profile-stop") {
    send(await stopProfile?.(cmd.file));
  } else if (cmd.type === "statements-start") {
    // Every statement on every pooled connection the broker uses.
    statements = 0;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      statements++;
      return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof originalQuery;
    send({ started: true });
  } else if (cmd.type === "statements-stop") {
    pg.Client.prototype.query = originalQuery;
    send({ statements });
  } else if (cmd.type === "stop") {
    await broker.stop();
    process.exit(0);
  }
});
