import { render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { Mark } from "@/lib/charts/shape";
import { MetricCharts } from "./MetricCharts";

// uPlot draws on a canvas, which jsdom lacks: show what the chart is given instead.
vi.mock("@/lib/charts/UPlotChart", () => ({
  UPlotChart: (props: { title: string; marks?: Mark[] }) => (
    <div data-testid={`chart-${props.title}`} data-marks={JSON.stringify(props.marks ?? [])} />
  ),
}));

const point = (step: number, value: number | "NaN" | "Infinity" | "-Infinity") => ({
  step,
  value,
  epoch: 0,
  wall_time: 1000 + step,
});

describe("MetricCharts", () => {
  it("tells NaN, +inf and -inf apart under the chart and marks each on it", () => {
    const loss = [point(0, 1.5), point(1, "NaN"), point(2, "Infinity"), point(3, "-Infinity"), point(4, "NaN")];
    render(
      <MetricCharts keys={["loss"]} points={{ loss }} zoomed={{}} loading={false} error={null} onZoom={() => undefined} />,
    );
    const caption = screen.getByTestId("nonfinite-loss");
    expect(caption).toHaveTextContent("NaN ×2");
    expect(caption).toHaveTextContent("+inf ×1");
    expect(caption).toHaveTextContent("-inf ×1");
    const marks = JSON.parse(screen.getByTestId("chart-loss").dataset.marks!) as Mark[];
    expect(marks.map((m) => m.kind)).toEqual(["NaN", "+inf", "-inf", "NaN"]);
  });

  it("says nothing when every value is finite", () => {
    render(
      <MetricCharts
        keys={["acc"]}
        points={{ acc: [point(0, 0.5), point(1, 0.75)] }}
        zoomed={{}}
        loading={false}
        error={null}
        onZoom={() => undefined}
      />,
    );
    expect(screen.queryByTestId("nonfinite-acc")).toBeNull();
  });
});
