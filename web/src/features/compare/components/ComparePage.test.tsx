import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactElement } from "react";
import { fakeServer, json } from "@/test/fakeServer";
import { renderPage } from "@/test/renderWithApi";
import type { Axis } from "../hooks/columns";
import { ComparePage } from "./ComparePage";

// ECharts and uPlot draw on a canvas, which jsdom lacks: the charts themselves are covered by
// the browser test (tests/web/test_compare_e2e.py). These stand-ins show what they were given.
vi.mock("./ParallelCoordinates", () => ({
  ParallelCoordinates: (props: { axes: Axis[]; data: unknown[]; onBrush: (id: string, intervals: [number, number][]) => void }) => (
    <div data-testid="parallel">
      {props.axes.map((a) => a.column.id).join(" | ")} ({props.data.length} lines)
      <button type="button" onClick={() => props.onBrush("metrics.val_acc", [[0.75, 1]])}>
        brush val_acc
      </button>
    </div>
  ),
}));
vi.mock("./ScatterPlot", () => ({
  ScatterPlot: (props: { x: Axis; y: Axis; points: unknown[]; selected: Set<number> }) => (
    <div data-testid="scatter">
      {props.x.column.id} vs {props.y.column.id}: {props.points.length} points, {props.selected.size} selected
    </div>
  ),
}));
vi.mock("@/lib/charts/UPlotChart", () => ({
  UPlotChart: (props: { seriesLabels: string[] }) => <div data-testid="overlay-chart">{props.seriesLabels.join(", ")}</div>,
}));

afterEach(() => vi.unstubAllGlobals());

const summary = (v: number) => ({ last: v, min: v - 0.1, max: v, last_step: 9 });
const run = (id: string, lr: number, seed: number, acc: number) => ({
  id,
  experiment_id: "e1",
  experiment_name: "sweep",
  state: "completed",
  trial_index: 0,
  created_at: "2026-01-01T00:00:00Z",
  params: { "model.lr": lr, "trainer.seed": seed, "trainer.max_epochs": 3 },
  metrics: { val_acc: summary(acc), loss: summary(1 - acc) },
});
const TABLE = {
  runs: [run("aaaaaaaa1", 0.1, 1, 0.9), run("bbbbbbbb2", 0.01, 2, 0.6), run("cccccccc3", 0.001, 3, 0.8)],
  param_keys: ["model.lr", "trainer.max_epochs", "trainer.seed"],
  metric_keys: ["loss", "val_acc"],
  missing: [],
  truncated: false,
};

function serve() {
  const server = fakeServer({
    "GET /api/v1/runs": () => json({ items: [], next_cursor: null }),
    "POST /api/v1/runs/compare": () => json(TABLE),
    "GET /api/v1/runs/{id}/metric-series": (_req, url) =>
      json({
        run_id: url.pathname.split("/")[4],
        max_points: 1000,
        series: url.searchParams.getAll("keys").map((key) => ({ key, points: [{ step: 1, value: 0.5, epoch: 0, wall_time: 1 }] })),
      }),
  });
  vi.stubGlobal("fetch", server.fetchImpl);
  return server;
}

const withQueries = (ui: ReactElement) => <QueryClientProvider client={new QueryClient()}>{ui}</QueryClientProvider>;
const tableIds = () =>
  within(screen.getByRole("table", { name: "Comparison" }))
    .getAllByRole("row")
    .slice(1)
    .map((r) => r.getAttribute("data-run-id"));

describe("ComparePage", () => {
  it("asks for the chosen runs in one request and draws params that vary against the first metric", async () => {
    const server = serve();
    renderPage(withQueries(<ComparePage />), { path: "/?runs=aaaaaaaa1,bbbbbbbb2,cccccccc3" });
    // The charts are lazy-loaded chunks: on a busy machine they take longer than findBy's 1 s.
    expect(await screen.findByTestId("parallel", {}, { timeout: 10_000 })).toHaveTextContent("params.model.lr | params.trainer.seed | metrics.loss (3 lines)");
    const post = server.calls.find((r) => r.method === "POST")!;
    expect(await post.json()).toEqual({ run_ids: ["aaaaaaaa1", "bbbbbbbb2", "cccccccc3"], limit: 1000 });
    expect(screen.getByTestId("scatter")).toHaveTextContent("params.model.lr vs metrics.loss: 3 points, 3 selected");
    expect(tableIds()).toEqual(["aaaaaaaa1", "bbbbbbbb2", "cccccccc3"]);
  });

  it("filters the table by a brush and offers the same selection in the runs list", async () => {
    serve();
    renderPage(withQueries(<ComparePage />), { path: "/?runs=aaaaaaaa1,bbbbbbbb2,cccccccc3" });
    await userEvent.selectOptions(await screen.findByLabelText("metric"), "metrics.val_acc");
    await userEvent.click(screen.getByRole("button", { name: "brush val_acc" }));
    expect(tableIds()).toEqual(["aaaaaaaa1", "cccccccc3"]);
    expect(screen.getByTestId("table-count")).toHaveTextContent("2 of 3 (brushed)");
    expect(screen.getByTestId("scatter")).toHaveTextContent("2 selected");
    const link = screen.getByRole("link", { name: "Open in runs list" });
    expect(decodeURIComponent(link.getAttribute("href")!).replace(/\+/g, " ")).toBe(
      "/runs?filter=metrics.val_acc >= 0.75 and metrics.val_acc <= 1",
    );
    await userEvent.click(screen.getByRole("button", { name: "Clear brushes" }));
    expect(tableIds()).toHaveLength(3);
  }, 20_000);

  it("compares the runs a filter matches", async () => {
    const server = serve();
    renderPage(withQueries(<ComparePage />));
    await userEvent.type(screen.getByLabelText("Compare runs matching"), "experiment = 'sweep'");
    await userEvent.click(screen.getByRole("button", { name: "Compare matching" }));
    await screen.findByTestId("parallel", {}, { timeout: 10_000 });
    const post = server.calls.find((r) => r.method === "POST")!;
    expect(await post.json()).toEqual({ filter: "experiment = 'sweep'", limit: 1000 });
  });

  it("overlays several metrics of the runs at once, smoothed on request", async () => {
    const server = serve();
    renderPage(withQueries(<ComparePage />), { path: "/?runs=aaaaaaaa1,bbbbbbbb2" });
    await screen.findByTestId("overlay-chart");
    await userEvent.click(screen.getByLabelText("overlay val_acc"));
    const chart = await screen.findByText(/val_acc/, { selector: "[data-testid=overlay-chart]" });
    expect(chart).toHaveTextContent("sweep aaaaaaaa · loss, sweep aaaaaaaa · val_acc, sweep bbbbbbbb · loss, sweep bbbbbbbb · val_acc");
    const asked = server.calls.filter((r) => r.url.includes("metric-series")).map((r) => new URL(r.url).searchParams.getAll("keys"));
    expect(asked).toContainEqual(["loss", "val_acc"]);
    fireEvent.change(screen.getByLabelText("smoothing"), { target: { value: "0.5" } });
    expect(await screen.findByText(/\(smoothed\)/, { selector: "[data-testid=overlay-chart]" })).toBeInTheDocument();
  }, 20_000);
});
