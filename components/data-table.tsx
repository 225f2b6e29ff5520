import type { ReactNode } from "react";

export type Column<Row> = { header: string; cell: (row: Row) => ReactNode; className?: string };

/** The console's one table: bordered, header row, a test id per row. */
export function DataTable<Row>(props: { rows: Row[]; columns: Column<Row>[]; rowKey: (row: Row) => string; testId?: string; rowTestId?: (row: Row) => string; rowClassName?: (row: Row) => string | undefined }) {
  return (
    <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
      <table className="min-w-full text-left text-sm" data-testid={props.testId}>
        <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
          <tr>
            {props.columns.map((column) => (
              <th key={column.header} scope="col" className="px-3 py-2">{column.header}</th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {props.rows.map((row) => (
            <tr key={props.rowKey(row)} data-testid={props.rowTestId?.(row)} className={props.rowClassName?.(row)}>
              {props.columns.map((column) => (
                <td key={column.header} className={column.className ?? "px-3 py-2"}>{column.cell(row)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
