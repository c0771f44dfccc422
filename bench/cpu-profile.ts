// A CPU profile of this process over one phase of a bench (node:inspector, no restart with
// --cpu-prof), and where its time went by part of the broker: each sample goes to the innermost
// frame whose file names a part (a package or a src/ folder), so a native call (JSON.parse,
// a hash) counts for whoever called it. `npx tsx bench/cpu-profile.ts file.cpuprofile [n]`
// prints the table of a saved profile, per operation when n is given.
import fs from "node:fs";
import { Session } from "node:inspector/promises";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Starts profiling now; the returned function stops it and writes the profile to `file`. */
export async function startCpuProfile(): Promise<(file: string) => Promise<Profile>> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 500 });
  await session.post("Profiler.start");
  return async (file) => {
    const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: Profile };
    session.disconnect();
    fs.writeFileSync(file, JSON.stringify(profile));
    return profile;
  };
}

/** First match wins, tested on each frame from the leaf outwards: function names, then files. */
const BY_FUNCTION: [RegExp, string][] = [
  [/^sha256Hex$/, "sha256"],
  [/^(validateManifestYaml|assertYamlWithinLimits|rejectDuplicateKeys)$/, "YAML validation"],
];
const BY_FILE: [RegExp, string][] = [
  [/node_modules\/yaml\//, "YAML validation"],
  [/src\/deployment-objects\/yaml/, "YAML validation"],
  [/src\/graphql\/(limit|http-limits|limits|shape|document-cache|response-size)|graphql-query-complexity/, "query limits"],
  [/src\/audit\//, "audit log"],
  [/src\/auth\//, "identity (PAK)"],
  [/src\/graphql\/(context|loaders)|node_modules\/dataloader/, "context + loaders"],
  [/src\/graphql\/(fast-http|fast-path)/, "fast path"],
  [/src\/graphql\/format-error|src\/graphql\/client-errors/, "error formatting"],
  [/src\/deployment-objects\/|src\/db\/batcher|src\/idempotency\//, "deployment-object service + group insert"],
  [/src\/delivery\/|src\/fleet\//, "delivery / fan-out"],
  [/src\/webhooks\/|src\/telemetry\//, "webhooks / telemetry"],
  [/node_modules\/(pg|pg-protocol|pg-pool|pg-types|postgres-)/, "pg driver"],
  [/node_modules\/(@prisma|\.prisma)|src\/generated\/prisma/, "Prisma"],
  [/node_modules\/@apollo\/|node_modules\/@as-integrations\//, "Apollo Server"],
  [/node_modules\/graphql\//, "graphql-js (parse/validate/execute)"],
  [
    /node_modules\/(express|body-parser|raw-body|cors|router|finalhandler|send|type-is|content-type|qs|iconv-lite|on-finished|vary|accepts|negotiator|mime|media-typer|depd|debug|statuses|http-errors|parseurl|path-to-regexp|encodeurl|escape-html|fresh|etag|cookie)\//,
    "Express + body parsing",
  ],
  [/node_modules\/(pino|sonic-boom|thread-stream)/, "logging"],
  [/^node:(_http|http|net|stream|internal\/streams|internal\/http)/, "Node HTTP/net"],
  [/^node:/, "Node internals (other)"],
];
const SPECIAL = new Map([
  ["(garbage collector)", "GC"],
  ["(idle)", "idle"],
  ["(program)", "V8/native (program)"],
]);

function partOf(frame: ProfileNode["callFrame"]): string | undefined {
  const special = SPECIAL.get(frame.functionName);
  if (special) return special;
  for (const [re, part] of BY_FUNCTION) if (re.test(frame.functionName)) return part;
  if (!frame.url) return undefined;
  for (const [re, part] of BY_FILE) if (re.test(frame.url)) return part;
  return undefined;
}

/**
 * Milliseconds per part (summed over samples): the innermost frame naming a package or src/
 * part; Node's own frames (http, streams, events) count for the part that called them, and as
 * Node's only when no part did (the HTTP parser, timers).
 */
export function profileParts(profile: Profile): Map<string, number> {
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map<number, { part?: string; node?: string }>();
  const resolve = (id: number): { part?: string; node?: string } => {
    const known = memo.get(id);
    if (known) return known;
    const node = byId.get(id);
    const own = node ? partOf(node.callFrame) : undefined;
    const up = parent.get(id);
    const above = up === undefined ? {} : resolve(up);
    const isNode = own !== undefined && node?.callFrame.url.startsWith("node:");
    const found = own === undefined ? above : isNode ? { part: above.part, node: own } : { part: own, node: above.node };
    memo.set(id, found);
    return found;
  };
  const ms = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const { part: named, node } = resolve(id);
    const part = named ?? node ?? "other (unattributed)";
    ms.set(part, (ms.get(part) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return ms;
}

/** The table: ms per operation and share of the busy (non-idle) time, largest first. */
export function formatProfileParts(profile: Profile, operations: number): string {
  const ms = profileParts(profile);
  const busy = [...ms].filter(([p]) => p !== "idle").reduce((s, [, v]) => s + v, 0);
  const rows = [...ms].sort((a, b) => b[1] - a[1]);
  const lines = rows.map(
    ([part, v]) =>
      `  ${part.padEnd(44)} ${(v / operations).toFixed(3).padStart(7)} ms  ${part === "idle" ? "" : `${((100 * v) / busy).toFixed(1)}%`}`,
  );
  return [`  ${"part".padEnd(44)} ms/op     share of busy (${(busy / operations).toFixed(3)} ms/op busy)`, ...lines].join("\n");
}

// Run as a script (not when bundled into bench/broker-process.ts).
if (process.argv[1]?.endsWith("/bench/cpu-profile.ts")) {
  const [file, n] = process.argv.slice(2);
  if (!file) throw new Error("usage: bench/cpu-profile.ts file.cpuprofile [operations]");
  console.log(formatProfileParts(JSON.parse(fs.readFileSync(file, "utf8")) as Profile, Number(n ?? 1)));
}
