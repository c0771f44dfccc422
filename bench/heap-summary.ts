// tsx bench/heap-summary.ts before.heapsnapshot after.heapsnapshot N — where a broker's heap grew
// between two V8 heap snapshots (bench/delivery.ts writes them with BENCH_HEAP_DIR), per object
// kind (node type and constructor or closure name), as bytes and objects per agent. The
// "where the bytes per agent go" table of issue 13's note comes from here.
import fs from "node:fs";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/**
 * Self size and count per "type:name" (names of strings and numbers are folded into their type).
 * With OWNERS="<kind>", the kinds of the objects holding that kind instead (who owns the
 * dictionary-mode property arrays, the closures, …).
 */
function summarise(file: string): Map<string, { bytes: number; count: number }> {
  const snap = JSON.parse(fs.readFileSync(file, "utf8")) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt, edgesAt] = ["type", "name", "self_size", "edge_count"].map((f) => fields.indexOf(f)) as number[];
  const keyOf = (i: number) => {
    const type = types[snap.nodes[i + (typeAt ?? 0)] ?? 0] ?? "?";
    const folded = ["string", "concatenated string", "sliced string", "number", "heap number"].includes(type);
    return `${type}:${folded ? "" : (snap.strings[snap.nodes[i + (nameAt ?? 0)] ?? 0] ?? "").slice(0, 60)}`;
  };
  const out = new Map<string, { bytes: number; count: number }>();
  const add = (key: string, bytes: number) => {
    const entry = out.get(key) ?? { bytes: 0, count: 0 };
    entry.bytes += bytes;
    entry.count += 1;
    out.set(key, entry);
  };
  const owners = process.env.OWNERS;
  const edgeWidth = snap.snapshot.meta.edge_fields.length;
  const toAt = snap.snapshot.meta.edge_fields.indexOf("to_node");
  for (let i = 0, e = 0; i < snap.nodes.length; i += fields.length) {
    const edgeCount = snap.nodes[i + (edgesAt ?? 0)] ?? 0;
    if (!owners) add(keyOf(i), snap.nodes[i + (sizeAt ?? 0)] ?? 0);
    else
      for (let k = 0; k < edgeCount; k++) {
        const to = snap.edges[e + k * edgeWidth + toAt] ?? 0;
        if (keyOf(to) === owners) add(keyOf(i), snap.nodes[to + (sizeAt ?? 0)] ?? 0);
      }
    e += edgeCount * edgeWidth;
  }
  return out;
}

const [beforeFile, afterFile, nArg] = process.argv.slice(2);
if (!beforeFile || !afterFile || !nArg)
  throw new Error("usage: tsx bench/heap-summary.ts before.heapsnapshot after.heapsnapshot N");
const n = Number(nArg);
const before = summarise(beforeFile);
const after = summarise(afterFile);
const rows = [...after.entries()].map(([key, a]) => {
  const b = before.get(key) ?? { bytes: 0, count: 0 };
  return { key, bytes: (a.bytes - b.bytes) / n, count: (a.count - b.count) / n };
});
rows.sort((x, y) => y.bytes - x.bytes);
const total = rows.reduce((s, r) => s + r.bytes, 0);
console.log(`heap growth per agent: ${(total / 1024).toFixed(1)} KB (N=${n})`);
console.log("| bytes/agent | objects/agent | kind |\n|---:|---:|---|");
for (const r of rows.slice(0, Number(process.env.TOP ?? 40)))
  console.log(`| ${r.bytes.toFixed(0)} | ${r.count.toFixed(2)} | ${r.key.replace(/\|/g, "/")} |`);
