/** Any two columns against each other (ECharts scatter); runs outside the brushes are faint. */
import { useEffect, useRef } from "react";
import { useTheme } from "@/lib/theme";
import type { Axis } from "../hooks/columns";
import { chartColours, echarts, type EChart } from "./echarts";

export interface ScatterPlotProps {
  x: Axis;
  y: Axis;
  /** [x, y, row index] per run with both values (hooks/columns.ts scatterData). */
  points: [number, number, number][];
  labels: string[];
  /** Row indices inside the brushes (all when nothing is brushed). */
  selected: Set<number>;
  height?: number;
}

function axisOption(axis: Axis, colours: ReturnType<typeof chartColours>) {
  const style = {
    name: axis.column.label,
    nameLocation: "middle" as const,
    nameGap: 28,
    nameTextStyle: { color: colours.fg },
    axisLine: { lineStyle: { color: colours.axis } },
    axisLabel: {
      color: colours.axis,
      fontSize: 10,
      hideOverlap: true,
      formatter: (v: number | string) => (typeof v === "number" ? String(Number(v.toPrecision(4))) : v),
    },
    splitLine: { lineStyle: { color: colours.grid } },
  };
  if (axis.type === "category") return { ...style, type: "category" as const, data: axis.categories };
  const log = axis.min > 0 && axis.max / axis.min >= 100;
  return { ...style, type: log ? ("log" as const) : ("value" as const), scale: true };
}

export function ScatterPlot({ x, y, points, labels, selected, height = 320 }: ScatterPlotProps) {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<EChart | null>(null);
  const theme = useTheme();

  useEffect(() => {
    if (!host.current) return;
    const created = echarts.init(host.current, undefined, { renderer: "canvas" });
    chart.current = created;
    const element = host.current;
    created.on("finished", () => {
      element.dataset.points = String(element.dataset.pending ?? "");
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
    if (!created || !host.current) return;
    const colours = chartColours();
    host.current.dataset.pending = String(points.length);
    const inside = points.filter((p) => selected.has(p[2]));
    const outside = points.filter((p) => !selected.has(p[2]));
    const tooltip = (p: { value: [number, number, number] }) => {
      const [px, py, index] = p.value;
      const show = (axis: Axis, v: number) => (axis.type === "category" ? axis.categories[v] : String(Number(v.toPrecision(6))));
      return `${labels[index]}<br/>${x.column.label}: ${show(x, px)}<br/>${y.column.label}: ${show(y, py)}`;
    };
    created.setOption(
      {
        animation: false,
        backgroundColor: "transparent",
        grid: { left: 56, right: 16, top: 16, bottom: 44 },
        tooltip: {
          trigger: "item",
          formatter: tooltip,
          backgroundColor: colours.panel,
          borderColor: colours.grid,
          textStyle: { color: colours.fg },
        },
        xAxis: axisOption(x, colours),
        yAxis: { ...axisOption(y, colours), nameGap: 44 },
        series: [
          { type: "scatter", name: "brushed out", data: outside, symbolSize: 6, itemStyle: { color: colours.muted, opacity: 0.3 } },
          { type: "scatter", name: "runs", data: inside, symbolSize: 8, itemStyle: { color: "#2563eb", opacity: 0.85 } },
        ],
      },
      { notMerge: true },
    );
  }, [x, y, points, labels, selected, theme]);

  return (
    <div
      ref={host}
      className="echart"
      role="img"
      aria-label={`Scatter of ${y.column.label} against ${x.column.label}`}
      data-testid="scatter"
      style={{ height }}
    />
  );
}
