import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Empty, ErrorBox, Loading } from "@/components/StatusViews";
import {
  MARK_STYLE,
  alignSeries,
  countNonFinite,
  ema,
  groupKeys,
  logSafe,
  nonFiniteMarks,
  nonFiniteOf,
  stepRange,
  type Point,
  type XAxis,
} from "@/lib/charts/shape";
import { UPlotChart } from "@/lib/charts/UPlotChart";

export interface MetricChartsProps {
  keys: string[];
  points: Record<string, Point[]>;
  zoomed: Record<string, [number, number]>;
  loading: boolean;
  error: Error | null;
  onZoom: (key: string, stepRange: [number, number] | null) => void;
}

export const SYNC_KEY = "runyard-run-charts";

function KeyChart({ metricKey, points, axis, onZoom, onDrawn, smoothing, logScale }: {
  metricKey: string;
  points: Point[];
  axis: XAxis;
  onZoom: MetricChartsProps["onZoom"];
  onDrawn: (key: string) => void;
  smoothing: number;
  logScale: boolean;
}) {
  const data = useMemo(() => {
    const aligned = alignSeries([points], axis);
    const raw = aligned[1] as (number | null)[];
    const shown = logScale ? logSafe(raw) : raw;
    if (smoothing <= 0) return [aligned[0], shown] as typeof aligned;
    const smooth = ema(raw, smoothing);
    return [aligned[0], shown, logScale ? logSafe(smooth) : smooth] as typeof aligned;
  }, [points, axis, smoothing, logScale]);
  const smoothed = smoothing > 0;
  const labels = useMemo(() => (smoothed ? [metricKey, `${metricKey} (smoothed)`] : [metricKey]), [metricKey, smoothed]);
  const faint = useMemo(() => (smoothed ? [true, false] : [false]), [smoothed]);
  const marks = useMemo(() => nonFiniteMarks(points, axis), [points, axis]);
  const counts = useMemo(() => countNonFinite(points), [points]);
  // The legend names a non-finite value under the cursor; data columns follow x order, which
  // is the points' order on the step axis (the others sort, so look the x up).
  const nonFiniteAt = useCallback(
    (_series: number, index: number) => {
      const x = data[0][index];
      const point = points.find((p) => (axis === "step" ? p.step : axis === "epoch" ? p.epoch : p.wall_time) === x);
      return point ? nonFiniteOf(point.value) : null;
    },
    [axis, data, points],
  );
  const zoom = useCallback(
    (range: [number, number] | null) => {
      if (!range) return onZoom(metricKey, null);
      // The server zooms by step; other axes map back through the points on screen.
      const steps = axis === "step" ? range : stepRange(points, axis, range[0], range[1]);
      if (steps) onZoom(metricKey, steps);
    },
    [axis, metricKey, onZoom, points],
  );
  const shown = (Object.keys(counts) as (keyof typeof counts)[]).filter((kind) => counts[kind] > 0);
  const host = useRef<HTMLSpanElement>(null);
  return (
    <>
      <span ref={host} hidden data-drawn-step="" />
      <UPlotChart
        title={metricKey}
        data={data}
        seriesLabels={labels}
        axis={axis}
        onZoom={zoom}
        onDraw={() => {
          onDrawn(metricKey);
          markRedrawn(host, metricKey, points);
        }}
        marks={marks}
        nonFiniteAt={nonFiniteAt}
        syncKey={SYNC_KEY}
        logScale={logScale}
        faint={faint}
      />
      {shown.length > 0 && (
        <small className="nonfinite" data-testid={`nonfinite-${metricKey}`}>
          {shown.map((kind) => (
            <span key={kind} style={{ color: MARK_STYLE[kind].color }} data-kind={kind}>
              {MARK_STYLE[kind].label} ×{counts[kind]}{" "}
            </span>
          ))}
          (marked on the chart: +inf at the top, -inf and NaN at the bottom)
        </small>
      )}
    </>
  );
}

/** When a chart has drawn a new last step (live points arriving), say so: a performance mark
 * (`runyard:chart-redrawn`, its detail the key and step; only the newest is kept) and the
 * step and epoch-millisecond time on the chart's marker, which bench/live_latency.py reads. */
function markRedrawn(host: React.RefObject<HTMLSpanElement | null>, key: string, points: Point[]) {
  const marker = host.current;
  const last = points.length ? String(points[points.length - 1].step) : "";
  if (!marker || marker.dataset.drawnStep === last) return;
  performance.clearMarks("runyard:chart-redrawn");
  const mark = performance.mark("runyard:chart-redrawn", { detail: { key, step: last } });
  marker.dataset.drawnStep = last;
  marker.dataset.drawnAt = String(performance.timeOrigin + mark.startTime);
}

export function MetricCharts({ keys, points, zoomed, loading, error, onZoom }: MetricChartsProps) {
  const [axis, setAxis] = useState<XAxis>("step");
  const [smoothing, setSmoothing] = useState(0);
  const [logScale, setLogScale] = useState(false);
  const drawn = useRef(new Set<string>());
  const host = useRef<HTMLDivElement>(null);
  const groups = useMemo(() => groupKeys(keys), [keys]);

  // Tests and bench/web_charts.py wait on this attribute: set once every chart has drawn.
  const onDrawn = useCallback(
    (key: string) => {
      drawn.current.add(key);
      const all = keys.length > 0 && keys.every((k) => drawn.current.has(k) && points[k] !== undefined);
      if (all && host.current && !host.current.dataset.chartsDrawn) {
        host.current.dataset.chartsDrawn = String(keys.length);
        performance.mark("runyard:charts-drawn");
      }
    },
    [keys, points],
  );
  useEffect(() => {
    drawn.current = new Set();
    if (host.current) delete host.current.dataset.chartsDrawn;
  }, [keys.join("\u0000")]); // eslint-disable-line react-hooks/exhaustive-deps

  return (
    <section className="panel" ref={host} data-testid="metric-charts">
      <header className="panel-head">
        <h2>Metrics</h2>
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
          <input type="checkbox" aria-label="log scale" checked={logScale} onChange={(e) => setLogScale(e.target.checked)} /> log
          scale
        </label>
        <span className="hint">drag to zoom (finer detail from the server), double-click to reset; the cursor follows on every chart</span>
      </header>
      {error && <ErrorBox error={error} />}
      {loading && !keys.length ? (
        <Loading what="metrics" />
      ) : !keys.length ? (
        <Empty>No metrics logged yet.</Empty>
      ) : (
        groups.map(({ group, keys: groupKeysList }) => (
          <div key={group} className="chart-group">
            <h3>{group}</h3>
            <div className="chart-grid">
              {groupKeysList.map((key) =>
                points[key] ? (
                  <div key={key} data-metric={key} data-points={points[key].length}>
                    <KeyChart
                      metricKey={key}
                      points={points[key]}
                      axis={axis}
                      onZoom={onZoom}
                      onDrawn={onDrawn}
                      smoothing={smoothing}
                      logScale={logScale}
                    />
                    {zoomed[key] && (
                      <small className="hint">
                        steps {zoomed[key][0]}–{zoomed[key][1]}
                      </small>
                    )}
                  </div>
                ) : null,
              )}
            </div>
          </div>
        ))
      )}
    </section>
  );
}
