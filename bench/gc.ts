// A full garbage collection before a memory figure (node --expose-gc). BENCH_GC=forced takes
// plain gc(); the default, "last-resort", is V8's collection of all available garbage with
// compaction (the kind its memory reducer runs once a process goes idle), so fragmentation left
// by a connect burst is not counted as memory an idle server holds.
type Gc = (options?: { type: "major"; execution: "sync"; flavor?: "regular" | "last-resort" }) => void;

export function fullGc(): void {
  const gc = globalThis.gc as Gc | undefined;
  gc?.({ type: "major", execution: "sync", flavor: process.env.BENCH_GC === "forced" ? "regular" : "last-resort" });
}
