import fs from "node:fs";
import { Session } from "node:inspector/promises";

/**
 * CPU profiles of one phase of a bench at a time (BENCH_PROFILE_DIR), in the process being
 * measured: `profile(null)` starts one, `profile(file)` writes it there. Both sides of
 * bench:delivery use it, so their profiles cover the same windows.
 */
export function phaseProfiler(): (file: string | null) => Promise<{ file: string | null }> {
  const session = new Session();
  session.connect();
  let enabled = false;
  return async (file) => {
    if (file === null) {
      if (!enabled) await session.post("Profiler.enable");
      enabled = true;
      await session.post("Profiler.start");
      return { file: null };
    }
    const { profile } = await session.post("Profiler.stop");
    fs.writeFileSync(file, JSON.stringify(profile));
    return { file };
  };
}
