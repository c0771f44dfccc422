// A full garbage collection before a memory figure (node --expose-gc). Plain gc(): on Node 20
// (V8 11.3) any options object, `{ type: "major" }` included, runs only a scavenge (node
// --trace-gc prints "Scavenge … testing"), so figures read after it counted every dead object
// in the old generation. Run twice, since the first one's sweeping frees pages the second can
// then compact into.
export function fullGc(): void {
  const gc = globalThis.gc as (() => void) | undefined;
  gc?.();
  gc?.();
}
