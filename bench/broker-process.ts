// Child process of bench/delivery.ts: one bench broker (harness.ts) in a process of its own, so
// its memory is measured alone. `npm run build:bench-broker` bundles this file with esbuild as
// the shipped broker is built (build:broker): compiled JavaScript, not a TypeScript loader
// (tsx keeps every function's name with a defineProperty, which costs each closure a property
// dictionary: about 2 KB per subscribed agent that production never pays).
import { startBenchBroker } from "./harness.js";

import v8 from "node:v8";

type Command = { type: "rss" } | { type: "snapshot"; file: string } | { type: "stop" };

const send = process.send?.bind(process);
if (!send) throw new Error("bench/broker-process.ts runs as a forked child of bench/delivery.ts");

const broker = await startBenchBroker(process.env.BENCH_LABEL ?? "delivery");
send({ url: broker.url, databaseUrl: broker.databaseUrl, adminPak: broker.adminPak });
process.on("message", async (cmd: Command) => {
  if (cmd.type === "rss") {
    global.gc?.();
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
    send({ ...process.memoryUsage(), spaces });
  } else if (cmd.type === "snapshot") {
    global.gc?.();
    send({ file: v8.writeHeapSnapshot(cmd.file) });
  } else if (cmd.type === "stop") {
    await broker.stop();
    process.exit(0);
  }
});
