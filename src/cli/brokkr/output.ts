import Table from "cli-table3";

/** Human tables by default; `--json` prints the rows for scripts. */
export function printRows(rows: readonly object[], columns: string[], json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write("(none)\n");
    return;
  }
  const table = new Table({ head: columns, style: { head: [], border: [] } });
  for (const row of rows) {
    const values = new Map(Object.entries(row));
    table.push(columns.map((c) => format(values.get(c))));
  }
  process.stdout.write(`${table.toString()}\n`);
}

export function printObject(value: unknown, json: boolean): void {
  if (json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else for (const [k, v] of Object.entries(value as object)) process.stdout.write(`${k}: ${format(v)}\n`);
}

function format(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (Array.isArray(value)) return value.map(format).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
