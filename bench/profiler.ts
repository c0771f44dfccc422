import fs from "node:fs";
import { Session } from "node:inspector/promises";

/**
 * CPU profiles of one phase of a bench at a time (BENCH_PROFILE_DIR), in the process being
 * measured: `profile(null)` starts one, `profile(file)` writes it there. Both sides of
 * bench:delivery use it, so their profiles cover the same windows. With BENCH_PROFILE_HEAP=1
 * they are sampling heap profiles instead (`.heapprofile`, every allocation site, counting what
 * the young generation collected too: what makes a phase's GC work, not what it retains).
 */
export function phaseProfiler(): (file: string | null) => Promise<{ file: string | null }> {
  const session = new Session();
  session.connect();
  const heap = Boolean(process.env.BENCH_PROFILE_HEAP);
  let enabled = false;
  return async (file) => {
    if (file === null) {
      if (!enabled) await session.post(heap ? "HeapProfiler.enable" : "Profiler.enable");
      enabled = true;
      if (heap)
        await session.post("HeapProfiler.startSampling", {
          samplingInterval: 4096,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true,
        });
      else await session.post("Profiler.start");
      return { file: null };
    }
    if (heap) {
      const { profile } = await session.post("HeapProfiler.stopSampling");
      const out = file.replace(/\.cpuprofile$/, ".heapprofile");
      fs.writeFileSync(out, JSON.stringify(profile));
      return { file: out };
    }
    const { profile } = await session.post("Profiler.stop");
    fs.writeFileSync(file, JSON.stringify(profile));
    return { file };
  };
}
