/** Prints rows as an aligned table for people; commands print JSON instead under --json. */
export function printTable(rows: Record<string, string | number | null | undefined>[], columns: string[]): void {
  if (rows.length === 0) return;
  const cells = rows.map((row) => columns.map((c) => String(row[c] ?? "—")));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join("  ").trimEnd();
  process.stdout.write(`${line(columns.map((c) => c.toUpperCase()))}\n`);
  for (const row of cells) process.stdout.write(`${line(row)}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
