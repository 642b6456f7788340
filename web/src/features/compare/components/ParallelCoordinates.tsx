/** Parallel coordinates of the chosen params against one metric (the last axis, which also
 * colours the lines), drawn by ECharts' parallel series. Dragging along an axis brushes it;
 * the page filters its table by the brushes (hooks/brush.ts). */
import { useEffect, useRef } from "react";
import { useTheme } from "@/lib/theme";
import type { Brushes } from "../hooks/brush";
import type { Axis } from "../hooks/columns";
import { chartColours, echarts, METRIC_RAMP, type EChart } from "./echarts";

export interface ParallelCoordinatesProps {
  axes: Axis[];
  /** One row per run: its position on every axis (null: no value). */
  data: (number | null)[][];
  labels: string[];
  brushes: Brushes;
  onBrush: (columnId: string, intervals: [number, number][]) => void;
  height?: number;
}

/** A log axis for positive values spanning two decades or more (learning rates, weight decay). */
const isLogScale = (axis: Axis) => axis.type === "value" && axis.min > 0 && axis.max / axis.min >= 100;

function axisOption(axis: Axis, index: number, colours: ReturnType<typeof chartColours>) {
  const common = {
    id: axis.column.id,
    dim: index,
    name: axis.column.label,
    nameLocation: "end" as const,
    nameTextStyle: { color: colours.fg, fontSize: 11 },
    nameTruncate: { maxWidth: 110 },
    axisLine: { lineStyle: { color: colours.axis } },
    axisLabel: {
      color: colours.axis,
      fontSize: 10,
      formatter: (v: number | string) => (typeof v === "number" ? String(Number(v.toPrecision(4))) : v),
    },
    axisTick: { lineStyle: { color: colours.axis } },
  };
  if (axis.type === "category") return { ...common, type: "category" as const, data: axis.categories };
  return {
    ...common,
    type: isLogScale(axis) ? ("log" as const) : ("value" as const),
    min: axis.min === axis.max ? axis.min - 1 : "dataMin",
    max: axis.min === axis.max ? axis.max + 1 : "dataMax",
    scale: true,
  };
}

export function ParallelCoordinates({ axes, data, labels, brushes, onBrush, height = 360 }: ParallelCoordinatesProps) {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<EChart | null>(null);
  const latest = useRef({ onBrush, brushes });
  // Restoring brushes dispatches the same action a drag does: not a new brush of the user's.
  const restoring = useRef(false);
  /** What the chart shows brushed, to clear the axes the page cleared ("Clear brushes"). */
  const drawnBrushes = useRef<Brushes>({});
  latest.current = { onBrush, brushes };
  const theme = useTheme();

  useEffect(() => {
    if (!host.current) return;
    const element = host.current;
    const created = echarts.init(element, undefined, { renderer: "canvas" });
    chart.current = created;
    created.on("axisareaselected", (event) => {
      if (restoring.current) return;
      const { parallelAxisId, intervals } = event as { parallelAxisId: string; intervals: [number, number][] };
      drawnBrushes.current = { ...drawnBrushes.current, [parallelAxisId]: intervals };
      latest.current.onBrush(parallelAxisId, intervals);
    });
    created.on("finished", () => {
      // bench/compare_parallel.py and the browser test wait for this: the lines are drawn.
      if (element.dataset.drawn) return;
      element.dataset.drawn = String(element.dataset.rows);
      performance.mark("runyard:parallel-drawn");
    });
    const resizer = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => created.resize());
    resizer?.observe(element);
    return () => {
      resizer?.disconnect();
      created.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const created = chart.current;
    const element = host.current;
    if (!created || !element) return;
    const colours = chartColours();
    const metricDim = axes.length - 1;
    const metric = axes[metricDim];
    element.dataset.rows = String(data.length);
    delete element.dataset.drawn;
    performance.mark("runyard:parallel-start");
    created.setOption(
      {
        animation: false,
        backgroundColor: "transparent",
        textStyle: { color: colours.fg },
        parallel: {
          left: 40,
          right: 90,
          top: 40,
          bottom: 30,
          parallelAxisDefault: { areaSelectStyle: { width: 16, color: "rgba(37, 99, 235, 0.25)", borderColor: "#2563eb" } },
        },
        parallelAxis: axes.map((axis, i) => axisOption(axis, i, colours)),
        visualMap:
          metric && metric.type === "value"
            ? {
                type: "continuous",
                dimension: metricDim,
                min: metric.min,
                max: metric.min === metric.max ? metric.min + 1 : metric.max,
                inRange: { color: METRIC_RAMP },
                right: 0,
                top: "middle",
                itemHeight: Math.max(80, height - 140),
                text: ["high", "low"],
                textStyle: { color: colours.axis, fontSize: 10 },
                calculable: false,
              }
            : undefined,
        series: [
          {
            type: "parallel",
            lineStyle: { width: 1, opacity: data.length > 200 ? 0.35 : 0.7 },
            inactiveOpacity: 0.06,
            activeOpacity: 1,
            // Progressive drawing splits 1,000 lines over frames; drawing them at once is faster.
            progressive: 0,
            data: data.map((row, i) => ({ name: labels[i], value: row.map((v) => (v === null ? "-" : v)) })),
          },
        ],
      },
      { notMerge: true },
    );
    drawnBrushes.current = {};
    restoring.current = true;
    const shown = new Set(axes.map((a) => a.column.id));
    for (const [id, intervals] of Object.entries(latest.current.brushes)) {
      if (!shown.has(id)) continue;
      created.dispatchAction({ type: "axisAreaSelect", parallelAxisId: id, intervals });
      drawnBrushes.current[id] = intervals;
    }
    restoring.current = false;
    // Axes, data or theme changes rebuild the option; brushes live in the chart between them.
  }, [axes, data, labels, theme, height]);

  useEffect(() => {
    const created = chart.current;
    if (!created) return;
    restoring.current = true;
    for (const [id, intervals] of Object.entries(drawnBrushes.current)) {
      if (intervals.length && !brushes[id]?.length) {
        created.dispatchAction({ type: "axisAreaSelect", parallelAxisId: id, intervals: [] });
        drawnBrushes.current[id] = [];
      }
    }
    restoring.current = false;
  }, [brushes]);

  return (
    <div
      ref={host}
      className="echart"
      role="img"
      aria-label={`Parallel coordinates of ${axes.length - 1} params against ${axes[axes.length - 1]?.column.label ?? "a metric"}`}
      data-testid="parallel-coordinates"
      style={{ height }}
    />
  );
}
