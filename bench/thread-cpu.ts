import fs from "node:fs";

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * This process's CPU (process.cpuUsage, all threads) and its main thread's alone, µs: the rest
 * is V8's GC and compiler threads and libuv's pool. Node 20 has no process.threadCpuUsage, so
 * the main thread's is read from /proc (10 ms resolution; enough over a bench phase).
 */
export function cpuWithMainThread(): NodeJS.CpuUsage & { mainThread: number } {
  const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  return { ...process.cpuUsage(), mainThread: (ticks * 1e6) / TICKS_PER_SECOND };
}
