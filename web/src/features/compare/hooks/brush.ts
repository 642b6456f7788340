/** Brushing: the intervals drawn on parallel-coordinates axes, as a filter of the runs (the
 * table below shows the runs inside every brushed axis) and as the runs list's filter
 * expression (the same selection, server-side). Pure. */
import { cellOf, positionOn, type Axis, type CompareRow } from "./columns";

/** Column id → the intervals brushed on its axis, in axis units (a category axis counts its
 * categories 0, 1, ...). An axis without intervals selects every run. */
export type Brushes = Record<string, [number, number][]>;

export function inIntervals(position: number | null, intervals: [number, number][]): boolean {
  if (!intervals.length) return true;
  if (position === null) return false; // a brushed axis keeps only runs that have a value there
  return intervals.some(([a, b]) => Math.min(a, b) <= position && position <= Math.max(a, b));
}

/** The rows inside every brushed axis (an axis that is no longer shown does not filter). */
export function brushedRows(rows: CompareRow[], axes: Axis[], brushes: Brushes): CompareRow[] {
  const active = axes.filter((axis) => brushes[axis.column.id]?.length);
  if (!active.length) return rows;
  return rows.filter((row) =>
    active.every((axis) => inIntervals(positionOn(axis, cellOf(row, axis.column)), brushes[axis.column.id])),
  );
}

/** A brush event replaces one axis' intervals; clearing one drops the axis. */
export function withBrush(brushes: Brushes, columnId: string, intervals: [number, number][]): Brushes {
  const next = { ...brushes };
  if (intervals.length) next[columnId] = intervals.map(([a, b]) => [Math.min(a, b), Math.max(a, b)]);
  else delete next[columnId];
  return next;
}

const PLAIN = /^[A-Za-z_][A-Za-z0-9_:/-]*$|^[0-9][A-Za-z0-9_:/-]*$/;

/** A column id in the filter language: odd key segments go in backquotes. */
export function fieldName(id: string): string {
  const [head, ...rest] = id.split(".");
  return [head, ...rest.map((s) => (PLAIN.test(s) ? s : `\`${s}\``))].join(".");
}

const quote = (text: string) => `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

/** The brushes as the runs list's filter: each axis' intervals or-ed, the axes and-ed, the
 * edges rounded outwards to 4 significant digits (the expression may be a hair wider, never
 * narrower). null when it cannot be written: a category brush that holds no category. */
export function brushExpression(axes: Axis[], brushes: Brushes): string | null {
  const parts: string[] = [];
  for (const axis of axes) {
    const intervals = brushes[axis.column.id];
    if (!intervals?.length) continue;
    const field = fieldName(axis.column.id);
    const terms: string[] = [];
    for (const [a, b] of intervals) {
      if (axis.type === "value") {
        terms.push(`${field} >= ${edge(a, "down")} and ${field} <= ${edge(b, "up")}`);
      } else {
        for (let i = Math.max(0, Math.ceil(a)); i <= Math.floor(b) && i < axis.categories.length; i++) {
          terms.push(`${field} = ${literal(axis.categories[i])}`);
        }
      }
    }
    if (!terms.length) return null;
    parts.push(terms.length === 1 ? terms[0] : `(${terms.map((t) => `(${t})`).join(" or ")})`);
  }
  return parts.join(" and ");
}

function literal(category: string): string {
  if (category === "true" || category === "false") return category;
  // A number-looking category came from a column that mixes numbers and text.
  return /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(category) ? category : quote(category);
}

/** A brush edge rounded to 4 significant digits, down or up (for display and expressions). */
export function edge(value: number, direction: "down" | "up"): string {
  if (value === 0 || !Number.isFinite(value)) return String(value);
  const unit = 10 ** (Math.floor(Math.log10(Math.abs(value))) - 3);
  const raw = value / unit;
  // 0.2 / 1e-4 is 2000.0000000000002 in floating point: an edge already on the grid stays.
  const near = Math.round(raw);
  const steps = Math.abs(raw - near) < 1e-9 ? near : direction === "down" ? Math.floor(raw) : Math.ceil(raw);
  return String(Number((steps * unit).toPrecision(4)));
}
