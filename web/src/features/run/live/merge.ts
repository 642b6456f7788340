/** Folding the run stream's payloads into the cached REST data, purely. Each merge is
 * idempotent (a payload applied twice, or one the snapshot already held, changes nothing), so
 * a snapshot loaded while the stream was already open can safely receive the overlap too. */
import type { Point } from "@/lib/charts/shape";
import type { LogLine, RunDetail, RunSummary } from "../api/run";

export interface StreamPoint extends Point {
  key: string;
  attempt: number;
}

export type Transition = RunDetail["transitions"][number];

export interface SeriesData {
  keys: string[];
  points: Record<string, Point[]>;
}

export interface LogData {
  lines: LogLine[];
}

/** Lines kept in the tail: the oldest go first. */
export const KEEP_LINES = 20_000;

/** Insert each point at its step (replacing a point already there): mostly an append. */
export function mergePoints(data: SeriesData, incoming: StreamPoint[]): SeriesData {
  if (!incoming.length) return data;
  const points = { ...data.points };
  const touched = new Set<string>();
  for (const p of incoming) {
    if (!touched.has(p.key)) {
      points[p.key] = points[p.key] ? points[p.key].slice() : [];
      touched.add(p.key);
    }
    insertByStep(points[p.key], { step: p.step, value: p.value, epoch: p.epoch, wall_time: p.wall_time });
  }
  const added = [...touched].some((key) => !(key in data.points));
  const keys = added ? Array.from(new Set([...data.keys, ...touched])).sort() : data.keys;
  return { keys, points };
}

function insertByStep(series: Point[], point: Point): void {
  let hi = series.length;
  if (hi === 0 || series[hi - 1].step < point.step) {
    series.push(point);
    return;
  }
  let lo = 0;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (series[mid].step < point.step) lo = mid + 1;
    else hi = mid;
  }
  if (series[lo]?.step === point.step) series[lo] = point;
  else series.splice(lo, 0, point);
}

/** Lines after the last id held, in id order. */
export function mergeLines(data: LogData, incoming: LogLine[]): LogData {
  const last = data.lines.length ? data.lines[data.lines.length - 1].id : -1;
  const fresh = incoming.filter((line) => line.id > last);
  if (!fresh.length) return data;
  const lines = data.lines.concat(fresh);
  return { lines: lines.length > KEEP_LINES ? lines.slice(lines.length - KEEP_LINES) : lines };
}

/** The run's state and attempt follow the transition; the history gains it once. */
export function applyTransition(run: RunDetail, t: Transition): RunDetail {
  const known = run.transitions.some((old) => old.at === t.at && old.to_state === t.to_state && old.attempt === t.attempt);
  if (known) return run;
  return { ...run, state: t.to_state, attempt: t.attempt, transitions: [...run.transitions, t] };
}

/** The summary's last, min and max of each metric, moved by new points (a point at a step
 * the summary already counted changes nothing: the server's numbers stand). */
export function mergeSummary(summary: RunSummary, incoming: StreamPoint[]): RunSummary {
  if (!incoming.length) return summary;
  const byKey = new Map(summary.metrics.map((m) => [m.key, m]));
  for (const p of incoming) {
    if (typeof p.value !== "number") continue; // non-finite: keep the server's min/max
    const old = byKey.get(p.key);
    const at = { step: p.step, value: p.value };
    if (!old) {
      byKey.set(p.key, { key: p.key, points: 1, first_step: p.step, last: at, min: at, max: at });
      continue;
    }
    if (p.step <= old.last.step) continue;
    const min = typeof old.min.value !== "number" || p.value < old.min.value ? at : old.min;
    const max = typeof old.max.value !== "number" || p.value > old.max.value ? at : old.max;
    byKey.set(p.key, { ...old, points: old.points + 1, last: at, min, max });
  }
  const metrics = Array.from(byKey.values()).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { ...summary, metrics };
}

export function applyTransitions(run: RunDetail, transitions: Transition[]): RunDetail {
  return transitions.reduce(applyTransition, run);
}
