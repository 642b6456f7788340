/** Several metrics of several runs overlaid on one uPlot chart, with the run page's EMA
 * smoothing and log scale (lib/charts/shape.ts). One request per run for all its keys. */
import { useQueries } from "@tanstack/react-query";
import { useMemo, useRef, useState } from "react";
import { Empty, ErrorBox, Loading } from "@/components/StatusViews";
import { useApi } from "@/lib/api";
import { alignSeries, ema, logSafe, type Point, type XAxis } from "@/lib/charts/shape";
import { UPlotChart } from "@/lib/charts/UPlotChart";
import { fetchRunSeries } from "../api/compare";
import type { CompareRow } from "../hooks/columns";

const MAX_POINTS = 1000;

export interface MetricOverlayProps {
  runs: CompareRow[];
  label: (row: CompareRow) => string;
  metricKeys: string[];
}

/** The (run, key) lines to draw: only keys each run has logged. */
export function overlayLines(runs: CompareRow[], keys: string[]): { run: CompareRow; key: string }[] {
  return runs.flatMap((run) => keys.filter((key) => key in run.metrics).map((key) => ({ run, key })));
}

/** Raw lines, then (with smoothing) their EMA; a log scale turns values <= 0 into gaps. */
export function overlayColumns(series: Point[][], axis: XAxis, smoothing: number, logScale: boolean) {
  const [xs, ...raw] = alignSeries(series, axis) as [number[], ...(number | null)[][]];
  const shown = raw.map((ys) => (logScale ? logSafe(ys) : ys));
  if (smoothing <= 0) return { data: [xs, ...shown], faint: shown.map(() => false) };
  const smooth = raw.map((ys) => ema(ys, smoothing)).map((ys) => (logScale ? logSafe(ys) : ys));
  return { data: [xs, ...shown, ...smooth], faint: [...shown.map(() => true), ...smooth.map(() => false)] };
}

export function MetricOverlay({ runs, label, metricKeys }: MetricOverlayProps) {
  const api = useApi();
  const [axis, setAxis] = useState<XAxis>("step");
  const [smoothing, setSmoothing] = useState(0);
  const [logScale, setLogScale] = useState(false);
  const host = useRef<HTMLDivElement>(null);
  const lines = overlayLines(runs, metricKeys);
  const queries = useQueries({
    queries: runs.map((run) => {
      const keys = metricKeys.filter((key) => key in run.metrics);
      return {
        queryKey: ["compare", "series", run.id, keys, MAX_POINTS],
        queryFn: ({ signal }: { signal: AbortSignal }) => fetchRunSeries(api, run.id, keys, MAX_POINTS, signal),
        enabled: keys.length > 0,
      };
    }),
  });
  const error = queries.find((q) => q.error)?.error ?? null;
  const ready = queries.every((q) => q.data !== undefined || !q.isFetching);
  const byRun = new Map(runs.map((run, i) => [run.id, queries[i]?.data]));
  const series = ready ? lines.map(({ run, key }) => byRun.get(run.id)?.[key] ?? []) : null;
  const shaped = useMemo(
    () => (series ? overlayColumns(series, axis, smoothing, logScale) : null),
    // The series arrays are new each render; their identity is the queries' data.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [ready, queries.map((q) => q.dataUpdatedAt).join(","), lines.length, axis, smoothing, logScale],
  );
  const names = lines.map(({ run, key }) => `${label(run)} · ${key}`);
  const seriesLabels = smoothing > 0 ? [...names, ...names.map((n) => `${n} (smoothed)`)] : names;

  return (
    <div ref={host} data-testid="metric-overlay">
      <div className="panel-head">
        <label>
          x axis{" "}
          <select aria-label="x axis" value={axis} onChange={(e) => setAxis(e.target.value as XAxis)}>
            <option value="step">step</option>
            <option value="epoch">epoch</option>
            <option value="wall_time">wall time</option>
          </select>
        </label>
        <label className="chart-tools">
          smoothing{" "}
          <input
            type="range"
            aria-label="smoothing"
            min={0}
            max={0.99}
            step={0.01}
            value={smoothing}
            onChange={(e) => setSmoothing(Number(e.target.value))}
          />
          <output data-testid="smoothing-value">{smoothing.toFixed(2)}</output>
        </label>
        <label className="check">
          <input type="checkbox" aria-label="log scale" checked={logScale} onChange={(e) => setLogScale(e.target.checked)} /> log scale
        </label>
      </div>
      {error ? (
        <ErrorBox error={error as Error} />
      ) : !lines.length ? (
        <Empty>None of these runs logged the chosen metrics.</Empty>
      ) : !shaped ? (
        <Loading what="metric series" />
      ) : (
        <UPlotChart
          title={metricKeys.join(", ")}
          data={shaped.data as Parameters<typeof UPlotChart>[0]["data"]}
          seriesLabels={seriesLabels}
          faint={shaped.faint}
          axis={axis}
          logScale={logScale}
          height={340}
          onDraw={() => {
            if (host.current) host.current.dataset.drawn = String(lines.length);
          }}
        />
      )}
    </div>
  );
}
