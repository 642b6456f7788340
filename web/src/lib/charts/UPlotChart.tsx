/** A thin React wrapper over uPlot: creates the plot once, pushes new data with setData. */
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { MARK_STYLE, type Mark, type NonFinite, type XAxis } from "./shape";

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
}

export function UPlotChart(props: UPlotChartProps) {
  const { title, data, seriesLabels, axis, width = 460, height = 220 } = props;
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const callbacks = useRef(props);
  callbacks.current = props;

  useEffect(() => {
    if (!host.current) return;
    const opts: uPlot.Options = {
      title,
      width,
      height,
      scales: { x: { time: axis === "wall_time" } },
      axes: [{ label: axis === "wall_time" ? "" : axis }, {}],
      series: [
        {},
        ...seriesLabels.map((label, i) => ({
          label,
          stroke: PALETTE[i % PALETTE.length],
          width: 1.5,
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
      cursor: { drag: { x: true, y: false } },
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
    return () => {
      element.removeEventListener("dblclick", reset);
      created.destroy();
      plot.current = null;
    };
    // Data changes go through setData below; a new axis or series set rebuilds the plot.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [title, axis, width, height, seriesLabels.join("\u0000")]);

  useEffect(() => {
    plot.current?.setData(data, true);
  }, [data]);

  return <div ref={host} className="chart" data-testid={`chart-${title}`} />;
}
