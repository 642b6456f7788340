/** The compare table as chart columns: every flat param and every metric summary (last, min,
 * max) is a column; a column is a number axis when all its values are numbers, else a category
 * axis. Pure, so the shaping is unit-tested without a chart. */
import type { Schemas } from "@/lib/api";

export type CompareTable = Schemas["CompareTable"];
export type CompareRow = Schemas["CompareRow"];
export type Agg = "last" | "min" | "max";

export interface Column {
  /** The runs list's name for it (params.model.lr, metrics.val_acc, metrics.val_acc.min),
   * so a brush can be written as a filter expression the server understands. */
  id: string;
  label: string;
  kind: "param" | "metric";
  key: string;
  agg: Agg;
}

export type Cell = number | string | null;

export type Axis =
  | { column: Column; type: "value"; min: number; max: number }
  | { column: Column; type: "category"; categories: string[] };

export const paramColumn = (key: string): Column => ({ id: `params.${key}`, label: key, kind: "param", key, agg: "last" });

export const metricColumn = (key: string, agg: Agg = "last"): Column => ({
  id: `metrics.${key}${agg === "last" ? "" : `.${agg}`}`,
  label: agg === "last" ? key : `${key} (${agg})`,
  kind: "metric",
  key,
  agg,
});

/** Every column of the table: params first, then each metric's last, min and max. */
export function columnsOf(table: Pick<CompareTable, "param_keys" | "metric_keys">): Column[] {
  return [
    ...table.param_keys.map(paramColumn),
    ...table.metric_keys.flatMap((k) => (["last", "min", "max"] as Agg[]).map((agg) => metricColumn(k, agg))),
  ];
}

/** A run's value in a column: numbers stay numbers, booleans and text become text, lists and
 * objects their JSON; a metric's NaN or infinity (text on the wire) and absence are null. */
export function cellOf(row: CompareRow, column: Column): Cell {
  if (column.kind === "metric") {
    const value = row.metrics[column.key]?.[column.agg];
    return typeof value === "number" && Number.isFinite(value) ? value : null;
  }
  const value: unknown = row.params[column.key];
  if (value === undefined || value === null) return null;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

export function axisOf(rows: CompareRow[], column: Column): Axis {
  const values = rows.map((r) => cellOf(r, column)).filter((v): v is number | string => v !== null);
  if (values.every((v) => typeof v === "number")) {
    const numbers = values as number[];
    const min = numbers.length ? Math.min(...numbers) : 0;
    const max = numbers.length ? Math.max(...numbers) : 1;
    return { column, type: "value", min, max };
  }
  // Mixed columns (a number for some runs, text for others) are categories of their text.
  // Numbers come first in numeric order, then text.
  const ordered = [...values].sort((a, b) =>
    typeof a === "number" && typeof b === "number"
      ? a - b
      : typeof a === "number"
        ? -1
        : typeof b === "number"
          ? 1
          : a.localeCompare(b),
  );
  const categories = [...new Set(ordered.map(String))];
  return { column, type: "category", categories };
}

/** Where a run sits on an axis: its number, or its category's index; null: not on the axis. */
export function positionOn(axis: Axis, value: Cell): number | null {
  if (value === null) return null;
  if (axis.type === "value") return typeof value === "number" ? value : null;
  const index = axis.categories.indexOf(String(value));
  return index < 0 ? null : index;
}

/** The params worth an axis by default: those that differ between the runs (a constant param
 * is a flat line through every run), at most `limit` of them. */
export function varyingParams(rows: CompareRow[], paramKeys: string[], limit = 12): string[] {
  return paramKeys
    .filter((key) => new Set(rows.map((r) => JSON.stringify(r.params[key] ?? null))).size > 1)
    .slice(0, limit);
}

/** The axes and rows of a parallel-coordinates chart: one axis per column, the metric last;
 * each row is a run's position on every axis (null where it has no value). */
export function parallelData(rows: CompareRow[], columns: Column[]): { axes: Axis[]; data: (number | null)[][] } {
  const axes = columns.map((c) => axisOf(rows, c));
  const data = rows.map((row) => axes.map((axis) => positionOn(axis, cellOf(row, axis.column))));
  return { axes, data };
}

/** Scatter points of two columns: runs with a value on both, as [x, y, row index]. */
export function scatterData(rows: CompareRow[], x: Axis, y: Axis): [number, number, number][] {
  const points: [number, number, number][] = [];
  rows.forEach((row, index) => {
    const px = positionOn(x, cellOf(row, x.column));
    const py = positionOn(y, cellOf(row, y.column));
    if (px !== null && py !== null) points.push([px, py, index]);
  });
  return points;
}
