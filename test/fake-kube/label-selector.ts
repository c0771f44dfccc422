import { StatusError } from "./status.ts";

type Requirement =
  | { op: "eq" | "neq"; key: string; value: string }
  | { op: "in" | "notin"; key: string; values: string[] }
  | { op: "exists" | "absent"; key: string };

export type LabelSelector = (labels: Record<string, string>) => boolean;

/** Splits on commas that are not inside a `( … )` value set. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of selector) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      terms.push(current);
      current = "";
    } else current += ch;
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t !== "");
}

function parseTerm(term: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (set) {
    const values = set[3]!
      .split(",")
      .map((v) => v.trim())
      .filter((v) => v !== "");
    return { op: set[2] as "in" | "notin", key: set[1]!, values };
  }
  const cmp = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
  if (cmp) return { op: cmp[2] === "!=" ? "neq" : "eq", key: cmp[1]!, value: cmp[3]! };
  const absent = /^!\s*(\S+)$/.exec(term);
  if (absent) return { op: "absent", key: absent[1]! };
  if (/^[^\s!=(),]+$/.test(term)) return { op: "exists", key: term };
  throw new StatusError(400, `unable to parse requirement: ${term}`);
}

function matches(req: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  switch (req.op) {
    case "eq":
      return has && value === req.value;
    case "neq":
      return !has || value !== req.value;
    case "in":
      return has && req.values.includes(value!);
    case "notin":
      return !has || !req.values.includes(value!);
    case "exists":
      return has;
    case "absent":
      return !has;
  }
}

/** Parses a label selector as the API server does: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (…)`, `k notin (…)`. */
export function parseLabelSelector(selector: string | null | undefined): LabelSelector {
  const requirements = splitTerms(selector ?? "").map(parseTerm);
  return (labels) => requirements.every((req) => matches(req, labels));
}
