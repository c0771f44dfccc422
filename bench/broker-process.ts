// Child process of bench/delivery.ts and bench/api.ts: one bench broker (harness.ts) in a process
// of its own, so its memory and CPU are measured alone. `npm run build:bench-broker` bundles this file with esbuild as
// the shipped broker is built (build:broker): compiled JavaScript, not a TypeScript loader
// (tsx keeps every function's name with a defineProperty, which costs each closure a property
// dictionary: about 2 KB per subscribed agent that production never pays).
import { fullGc } from "./gc.js";
import { cpuWithMainThread } from "./thread-cpu.js";
import { startBenchBroker } from "./harness.js";
import { phaseProfiler } from "./profiler.js";

import v8 from "node:v8";
import pg from "pg";

type Command =
  | { type: "rss" }
  | { type: "cpu" }
  | { type: "snapshot"; file: string }
  | { type: "profile"; file: string | null }
  | { type: "statements"; counting: boolean }
  | { type: "stop" };

const profile = phaseProfiler();

const send = process.send?.bind(process);
if (!send) throw new Error("bench/broker-process.ts runs as a forked child of a bench script");

/** SQL statements on every pooled connection of the broker while counting (bench/api.ts). */
const originalQuery = pg.Client.prototype.query;
let statements = 0;

const broker = await startBenchBroker(process.env.BENCH_LABEL ?? "delivery");
send({ url: broker.url, databaseUrl: broker.databaseUrl, adminPak: broker.adminPak });
process.on("message", async (cmd: Command) => {
  if (cmd.type === "rss") {
    fullGc();
    const spaces = Object.fromEntries(
      v8
        .getHeapSpaceStatistics()
        .map((s) => [s.space_name, [s.space_size, s.space_used_size, s.physical_space_size].map((b) => Math.round(b / 2 ** 20))]),
    );
    send({ ...process.memoryUsage(), spaces });
  } else if (cmd.type === "snapshot") {
    global.gc?.();
    send({ file: v8.writeHeapSnapshot(cmd.file) });
  } else if (cmd.type === "cpu") {
    send(cpuWithMainThread());
  } else if (cmd.type === "profile") {
    send(await profile(cmd.file));
  } else if (cmd.type === "statements") {
    if (cmd.counting) {
      statements = 0;
      pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
        statements++;
        return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
      } as typeof originalQuery;
    } else pg.Client.prototype.query = originalQuery;
    send({ statements });
  } else if (cmd.type === "stop") {
    await broker.stop();
    process.exit(0);
  }
});
