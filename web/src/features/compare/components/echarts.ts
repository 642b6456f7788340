/** ECharts with only what Compare draws (parallel coordinates, scatter, tooltips, the colour
 * scale) on the canvas renderer: importing `echarts` whole would add every chart type. */
import { ParallelChart, ScatterChart } from "echarts/charts";
import { GridComponent, ParallelComponent, TooltipComponent, VisualMapComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import { cssVar } from "@/lib/theme";

echarts.use([ParallelChart, ScatterChart, ParallelComponent, GridComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

export { echarts };
export type EChart = echarts.ECharts;

/** The chart colours of the theme in effect (styles.css), read when a chart is (re)built. */
export function chartColours() {
  return {
    axis: cssVar("--chart-axis", "#475569"),
    grid: cssVar("--chart-grid", "rgba(0,0,0,0.07)"),
    fg: cssVar("--fg", "#1f2937"),
    panel: cssVar("--panel", "#ffffff"),
    muted: cssVar("--muted", "#64748b"),
  };
}

/** Low metric values blue, high ones red: the same in both themes, readable on either. */
export const METRIC_RAMP = ["#2563eb", "#06b6d4", "#84cc16", "#f59e0b", "#dc2626"];
