/** A thin React wrapper over uPlot: creates the plot once, pushes new data with setData. */
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { cssVar, useTheme } from "@/lib/theme";
import { MARK_STYLE, type Mark, type NonFinite, type XAxis } from "./shape";

/** What the legend calls the x value (uPlot's default is "Value"). */
export const X_LABEL: Record<XAxis, string> = { step: "step", epoch: "epoch", wall_time: "time" };

const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];


function drawMarks(u: uPlot, marks: Mark[]): void {
  if (!marks.length) return;
  const { ctx } = u;
  const size = 5 * devicePixelRatio;
  const top = u.bbox.top + size;
  const bottom = u.bbox.top + u.bbox.height - size;
  ctx.save();
  ctx.lineWidth = 1.5 * devicePixelRatio;
  for (const mark of marks) {
    const x = u.valToPos(mark.x, "x", true);
    if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
    const style = MARK_STYLE[mark.kind];
    ctx.fillStyle = style.color;
    ctx.strokeStyle = style.color;
    ctx.beginPath();
    if (mark.kind === "NaN") {
      ctx.moveTo(x - size, bottom - size);
      ctx.lineTo(x + size, bottom + size);
      ctx.moveTo(x + size, bottom - size);
      ctx.lineTo(x - size, bottom + size);
      ctx.stroke();
      continue;
    }
    const [tip, base] = mark.kind === "+inf" ? [top - size, top + size] : [bottom + size, bottom - size];
    ctx.moveTo(x, tip);
    ctx.lineTo(x - size, base);
    ctx.lineTo(x + size, base);
    ctx.closePath();
    ctx.fill();
  }
  ctx.restore();
}

export interface UPlotChartProps {
  title: string;
  data: uPlot.AlignedData;
  seriesLabels: string[];
  axis: XAxis;
  width?: number;
  height?: number;
  /** A drag-select zoom to [min, max] on the x axis; null on reset (double-click). */
  onZoom?: (range: [number, number] | null) => void;
  /** Called after each draw: the page counts drawn charts for the benchmark and tests. */
  onDraw?: () => void;
  /** Non-finite points to mark (see MARK_STYLE). */
  marks?: Mark[];
  /** The cursor legend's text for a value the line cannot draw, by data index. */
  nonFiniteAt?: (series: number, index: number) => NonFinite | null;
  /** Charts with the same key share one cursor (uPlot's cursor sync). */
  syncKey?: string;
  /** A log y scale (values <= 0 must already be gaps). */
  logScale?: boolean;
  /** Per series: a faint line (the raw values under a smoothed one). */
  faint?: boolean[];
}

export function UPlotChart(props: UPlotChartProps) {
  const { title, data, seriesLabels, axis, width, height = 300, syncKey, logScale = false, faint = [] } = props;
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const callbacks = useRef(props);
  callbacks.current = props;
  const theme = useTheme();

  useEffect(() => {
    if (!host.current) return;
    // As wide as its box (charts fit a phone's screen), or the given width.
    const fit = () => Math.max(240, Math.floor(width ?? (host.current?.clientWidth || 460)));
    const axisColor = cssVar("--chart-axis", "#475569");
    const grid = { stroke: cssVar("--chart-grid", "rgba(0,0,0,0.07)"), width: 1 };
    const axisStyle = { stroke: axisColor, grid, ticks: grid };
    const opts: uPlot.Options = {
      title,
      width: fit(),
      height,
      scales: { x: { time: axis === "wall_time" }, y: logScale ? { distr: 3 } : {} },
      axes: [{ ...axisStyle, label: axis === "wall_time" ? "" : axis }, axisStyle],
      series: [
        { label: X_LABEL[axis] },
        ...seriesLabels.map((label, i) => ({
          label,
          stroke: faint[i] ? `${PALETTE[i % PALETTE.length]}55` : PALETTE[i % PALETTE.length],
          width: faint[i] ? 1 : 1.5,
          spanGaps: true,
          // Dots only while a series is sparse (a lone validation point would be invisible).
          points: { show: (u: uPlot) => u.data[0].length < 40 },
          value: (_u: uPlot, v: number | null, _s: number, index: number | null) =>
            v === null && index !== null
              ? (callbacks.current.nonFiniteAt?.(i, index) ?? "--")
              : v === null
                ? "--"
                : String(Number(v.toPrecision(6))),
        })),
      ],
      cursor: { drag: { x: true, y: false }, ...(syncKey ? { sync: { key: syncKey } } : {}) },
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 4) return;
            const min = u.posToVal(u.select.left, "x");
            const max = u.posToVal(u.select.left + u.select.width, "x");
            callbacks.current.onZoom?.([min, max]);
          },
        ],
        draw: [
          (u) => {
            drawMarks(u, callbacks.current.marks ?? []);
            callbacks.current.onDraw?.();
          },
        ],
      },
    };
    const created = new uPlot(opts, data, host.current);
    plot.current = created;
    const reset = () => callbacks.current.onZoom?.(null);
    host.current.addEventListener("dblclick", reset);
    const element = host.current;
    const resizer =
      typeof ResizeObserver === "undefined" || width !== undefined
        ? null
        : new ResizeObserver(() => {
            const next = fit();
            if (next !== created.width) created.setSize({ width: next, height });
          });
    resizer?.observe(element);
    return () => {
      resizer?.disconnect();
      element.removeEventListener("dblclick", reset);
      created.destroy();
      plot.current = null;
    };
    // Data changes go through setData below; a new axis, scale, theme or series set rebuilds.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [title, axis, width, height, syncKey, logScale, theme, seriesLabels.join("\u0000"), faint.join(",")]);

  useEffect(() => {
    plot.current?.setData(data, true);
  }, [data]);

  return <div ref={host} className="chart" data-testid={`chart-${title}`} />;
}
