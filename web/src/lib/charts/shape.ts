/** Turning metric series into uPlot's column data. Pure, so it is unit-tested on its own. */
import type uPlot from "uplot";

/** A value as the API sends it: JSON has no NaN or infinity, so those come as strings (the
 * spelling `Number()` reads back). null is what servers before non-finite values sent. */
export type WireValue = number | "NaN" | "Infinity" | "-Infinity" | null;

export interface Point {
  step: number;
  value: WireValue;
  epoch: number | null;
  wall_time: number | null;
}

export type NonFinite = "NaN" | "+inf" | "-inf";

/** The value a line can draw: finite numbers only (anything else is a gap in the line). */
export function numeric(value: WireValue): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** Which non-finite value a point holds, or null for a finite one. */
export function nonFiniteOf(value: WireValue): NonFinite | null {
  if (value === "NaN" || (typeof value === "number" && Number.isNaN(value))) return "NaN";
  if (value === "Infinity" || value === Number.POSITIVE_INFINITY) return "+inf";
  if (value === "-Infinity" || value === Number.NEGATIVE_INFINITY) return "-inf";
  return null;
}

/** Glyphs for values a line cannot draw: +inf a red triangle pointing up at the top edge,
 * -inf one pointing down at the bottom edge, NaN a grey cross at the bottom edge. */
export const MARK_STYLE: Record<NonFinite, { color: string; label: string }> = {
  "+inf": { color: "#b91c1c", label: "+inf" },
  "-inf": { color: "#b91c1c", label: "-inf" },
  NaN: { color: "#6b7280", label: "NaN" },
};

export interface Mark {
  x: number;
  kind: NonFinite;
}

/** Where a chart marks its non-finite points (drawn at the plot's edges: +inf at the top,
 * -inf and NaN at the bottom, each its own glyph), so they are seen, not just gaps. */
export function nonFiniteMarks(points: Point[], axis: XAxis): Mark[] {
  const marks: Mark[] = [];
  for (const p of points) {
    const kind = nonFiniteOf(p.value);
    const x = xOf(p, axis);
    if (kind && x !== null) marks.push({ x, kind });
  }
  return marks;
}

/** How many of each non-finite value a series holds (for the caption under its chart). */
export function countNonFinite(points: Point[]): Record<NonFinite, number> {
  const counts: Record<NonFinite, number> = { NaN: 0, "+inf": 0, "-inf": 0 };
  for (const p of points) {
    const kind = nonFiniteOf(p.value);
    if (kind) counts[kind] += 1;
  }
  return counts;
}

export type XAxis = "step" | "epoch" | "wall_time";

export function xOf(point: Point, axis: XAxis): number | null {
  if (axis === "step") return point.step;
  if (axis === "epoch") return point.epoch;
  return point.wall_time;
}

/** Several series on one shared, sorted x axis (the union of their x values). A series
 * without a value at some x gets null there, which uPlot draws as a gap (spanGaps joins it). */
export function alignSeries(series: Point[][], axis: XAxis): uPlot.AlignedData {
  if (series.length === 1) {
    // The common case (one key per chart): no merge needed, keep it linear.
    const xs: number[] = [];
    const ys: (number | null)[] = [];
    for (const p of series[0]) {
      const x = xOf(p, axis);
      if (x === null) continue;
      xs.push(x);
      ys.push(numeric(p.value));
    }
    return sortColumns([xs, ys]);
  }
  const xSet = new Set<number>();
  for (const points of series) for (const p of points) {
    const x = xOf(p, axis);
    if (x !== null) xSet.add(x);
  }
  const xs = Float64Array.from(xSet).sort();
  const index = new Map<number, number>();
  xs.forEach((x, i) => index.set(x, i));
  const columns = series.map((points) => {
    const ys: (number | null)[] = new Array(xs.length).fill(null);
    for (const p of points) {
      const x = xOf(p, axis);
      if (x !== null) ys[index.get(x)!] = numeric(p.value);
    }
    return ys;
  });
  return [Array.from(xs), ...columns];
}

function sortColumns(columns: [number[], (number | null)[]]): uPlot.AlignedData {
  const [xs, ys] = columns;
  let sorted = true;
  for (let i = 1; i < xs.length && sorted; i++) sorted = xs[i - 1] <= xs[i];
  if (sorted) return [xs, ys];
  const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
  return [order.map((i) => xs[i]), order.map((i) => ys[i])];
}

/** Charts grouped by key prefix: "train/loss" and "train_acc" go under "train", "val/..." and
 * "val_..." under "val"; keys with no known prefix under "other". */
export function groupKeys(keys: string[]): { group: string; keys: string[] }[] {
  const groups = new Map<string, string[]>();
  for (const key of [...keys].sort()) {
    const match = /^(train|val|valid|validation|test)[/_.]/.exec(key);
    const group = match ? (match[1].startsWith("val") ? "val" : match[1]) : "other";
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group)!.push(key);
  }
  const order = ["train", "val", "test", "other"];
  return [...groups.entries()]
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([group, groupKeys]) => ({ group, keys: groupKeys }));
}

/** The step range behind an x range on another axis (zoom fetches by step on the server). */
export function stepRange(points: Point[], axis: XAxis, min: number, max: number): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of points) {
    const x = xOf(p, axis);
    if (x === null || x < min || x > max) continue;
    lo = Math.min(lo, p.step);
    hi = Math.max(hi, p.step);
  }
  return lo <= hi ? [lo, hi] : null;
}

/** The last finite value of a series: what a table shows as "final". */
export function finalValue(points: Point[]): number | null {
  for (let i = points.length - 1; i >= 0; i--) {
    const value = numeric(points[i].value);
    if (value !== null) return value;
  }
  return null;
}

/** Exponential moving average with TensorBoard's debiasing (the first values are not pulled
 * towards zero); `weight` 0 is no smoothing, 0.99 very smooth. Gaps stay gaps and do not
 * reset the average. */
export function ema(values: (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) return values.slice();
  let last = 0;
  let count = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return null;
    last = last * weight + (1 - weight) * v;
    count += 1;
    return last / (1 - weight ** count);
  });
}

/** The values a log scale can draw: zero and negatives become gaps. */
export function logSafe(values: (number | null)[]): (number | null)[] {
  return values.map((v) => (v !== null && v > 0 ? v : null));
}
