import { useState } from "react";
import { Link } from "react-router-dom";
import { formatValue } from "@/lib/format";
import { cellOf, metricColumn, paramColumn, type Column, type CompareRow } from "../hooks/columns";
import { sortRows } from "../hooks/sortRows";

/** Rendering 1,000 rows of 20 cells costs more than the charts; the rest are a click away. */
const FIRST_ROWS = 200;

export interface CompareTableViewProps {
  rows: CompareRow[];
  total: number;
  label: (row: CompareRow) => string;
  paramKeys: string[];
  metricKeys: string[];
}

/** The runs inside the brushes, with the params on the axes and every metric's last value. */
export function CompareTableView({ rows, total, label, paramKeys, metricKeys }: CompareTableViewProps) {
  const [sort, setSort] = useState<{ column: string; descending: boolean }>({ column: "run", descending: false });
  const [all, setAll] = useState(false);
  const columns: Column[] = [...paramKeys.map(paramColumn), ...metricKeys.map((k) => metricColumn(k))];
  const byId = new Map(columns.map((c) => [c.id, c]));
  const sorted = sortRows(
    rows,
    (r) => (sort.column === "run" ? label(r) : sort.column === "state" ? r.state : cellOf(r, byId.get(sort.column)!)),
    sort.descending,
  );
  const shown = all ? sorted : sorted.slice(0, FIRST_ROWS);
  const header = (column: string, text: string) => (
    <th key={column} aria-sort={sort.column === column ? (sort.descending ? "descending" : "ascending") : undefined}>
      <button
        type="button"
        className="sort"
        onClick={() => setSort((s) => ({ column, descending: s.column === column ? !s.descending : false }))}
      >
        {text} {sort.column === column ? (sort.descending ? "▼" : "▲") : ""}
      </button>
    </th>
  );
  return (
    <section className="panel">
      <h2>
        Runs <span className="hint" data-testid="table-count">{rows.length === total ? `${total}` : `${rows.length} of ${total} (brushed)`}</span>
      </h2>
      <div className="table-scroll">
        <table aria-label="Comparison">
          <thead>
            <tr>
              {header("run", "Run")}
              {header("state", "State")}
              {columns.map((c) => header(c.id, c.label))}
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr key={r.id} data-run-id={r.id}>
                <td>
                  <Link to={`/runs/${r.id}`}>{label(r)}</Link>
                </td>
                <td>{r.state}</td>
                {columns.map((c) => {
                  const value = cellOf(r, c);
                  return (
                    <td key={c.id} data-column={c.id} className={typeof value === "number" ? "num" : undefined}>
                      {typeof value !== "number" ? (value ?? "—") : c.kind === "metric" ? formatValue(value) : String(Number(value.toPrecision(6)))}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!all && sorted.length > FIRST_ROWS && (
        <button type="button" onClick={() => setAll(true)}>
          Show all {sorted.length} runs
        </button>
      )}
    </section>
  );
}
