import { screen, waitFor } from "@testing-library/react";
import type { Mark } from "@/lib/charts/shape";
import { countCalls, eventStream, fakeServer, json } from "@/test/fakeServer";
import { renderPage } from "@/test/renderWithApi";
import { runKeys } from "../api/queries";
import type { SeriesData } from "../live/merge";
import { RunPage } from "./RunPage";

// uPlot draws on a canvas, which jsdom lacks: show how many points the chart is given.
vi.mock("@/lib/charts/UPlotChart", () => ({
  UPlotChart: (props: { title: string; data: unknown[][]; marks?: Mark[] }) => (
    <div data-testid={`chart-${props.title}`} data-drawn-points={props.data[0].length} />
  ),
}));

afterEach(() => vi.unstubAllGlobals());

/** The machine running the tests is shared: give the page time to settle. */
const SOON = { timeout: 10_000 };

const point = (step: number) => ({ step, value: 1 / (step + 1), epoch: 0, wall_time: 1000 + step });
const line = (id: number) => ({ id, attempt: 1, stream: "stdout", text: `line ${id}`, ts: "2024-01-01T00:00:00Z" });
const transition = (from: string | null, to: string) => ({ from_state: from, to_state: to, attempt: 1, reason: null, at: `2024-01-01T00:00:0${to.length}Z` });

function runDetail(state: string) {
  return {
    id: "r1", experiment_id: "e1", experiment_name: "digits", experiment_tags: [], project_id: "p1", owner_id: "u-me",
    state, attempt: 1, priority: 0, spec: {}, params: {}, flat_params: {}, tags: [], notes: "", kind: "scheduled",
    isolation: "sandbox", exit_reason: null, traceback: null, cancel_requested_at: null, created_at: "2024-01-01T00:00:00Z",
    queued_at: null, started_at: "2024-01-01T00:00:00Z", finished_at: null, devices: [], worker_id: null,
    resume_checkpoint_id: null, trial_index: 0, rung_results: [],
    transitions: [transition(null, "queued"), transition("queued", "running")],
  };
}

function liveServer() {
  const stream = eventStream();
  let state = "running";
  const server = fakeServer({
    "GET /api/v1/runs/{id}/events": () => stream.response(),
    "GET /api/v1/runs/{id}/metric-series": () =>
      json({ run_id: "r1", series: [{ key: "loss", points: [point(0), point(1)] }] }),
    "GET /api/v1/runs/{id}/logs": () => json({ run_id: "r1", lines: [line(1)], next_after: null }),
    "GET /api/v1/runs/{id}/summary": () => json({ run_id: "r1", metrics: [], usage: { log_bytes: 0, log_lines_dropped: 0, metric_keys: 1, metric_points_refused: 0, events_refused: 0 } }),
    "GET /api/v1/runs/{id}/checkpoints": () => json([]),
    "GET /api/v1/runs/{id}/exports": () => json([]),
    "GET /api/v1/runs/{id}/artifacts": () => json({ run_id: "r1", files: [] }),
    "GET /api/v1/projects": () => json([]),
    "GET /api/v1/runs/{id}": () => json(runDetail(state)),
  });
  vi.stubGlobal("fetch", server.fetchImpl);
  return { server, stream, finish: () => void (state = "completed") };
}

describe("RunPage live path", () => {
  it("writes streamed metric points and log lines into the cache without refetching them", async () => {
    const { server, stream } = liveServer();
    const { queryClient } = renderPage(<RunPage />, { path: "/runs/r1", route: "/runs/:runId" });
    // The snapshots load only once the stream has said where it starts.
    await waitFor(() => expect(countCalls(server.calls, "GET /api/v1/runs/{id}/events")).toBe(1), SOON);
    expect(countCalls(server.calls, "GET /api/v1/runs/{id}/metric-series")).toBe(0);
    stream.send("open", "1.0.1.2", { cursor: "1.0.1.2" });
    await waitFor(() => expect(screen.getByTestId("chart-loss")).toHaveAttribute("data-drawn-points", "2"), SOON);
    await screen.findByText("line 1", {}, SOON);

    stream.send("metrics", "1.1.2.2", { points: [{ key: "loss", step: 2, epoch: 0, value: 0.33, wall_time: 1002, attempt: 1 }] });
    stream.send("log", "2.1.2.2", { lines: [line(2)] });
    await waitFor(() => expect(screen.getByTestId("chart-loss")).toHaveAttribute("data-drawn-points", "3"), SOON);
    await screen.findByText("line 2", {}, SOON);
    const cached = queryClient.getQueryData<SeriesData>(runKeys.series("r1"));
    expect(cached?.points.loss.map((p) => p.step)).toEqual([0, 1, 2]);
    expect(screen.getByTestId("live-status")).toHaveTextContent("live");

    // Nothing the stream carried was fetched again.
    expect(countCalls(server.calls, "GET /api/v1/runs/{id}/metric-series")).toBe(1);
    expect(countCalls(server.calls, "GET /api/v1/runs/{id}/logs")).toBe(1);
    expect(countCalls(server.calls, "GET /api/v1/runs/{id}/summary")).toBe(1);
    expect(countCalls(server.calls, "GET /api/v1/runs/{id}")).toBe(1);
  });

  it("a state change moves the badge at once; only what the stream lacks reloads when the run ends", async () => {
    const { server, stream, finish } = liveServer();
    renderPage(<RunPage />, { path: "/runs/r1", route: "/runs/:runId" });
    await waitFor(() => expect(countCalls(server.calls, "GET /api/v1/runs/{id}/events")).toBe(1), SOON);
    stream.send("open", "1.0.1.2", { cursor: "1.0.1.2" });
    await waitFor(() => expect(screen.getByTestId("chart-loss")).toHaveAttribute("data-drawn-points", "2"), SOON);
    finish();
    stream.send("state", "1.0.1.3", transition("running", "completed"));
    await waitFor(() => expect(screen.getByTestId("run-state")).toHaveTextContent("completed"), SOON);
    stream.send("end", "1.0.1.3", {});
    // The run (for its finish time and failure text) reloads; the series and logs do not.
    await waitFor(() => expect(countCalls(server.calls, "GET /api/v1/runs/{id}")).toBe(2), SOON);
    expect(countCalls(server.calls, "GET /api/v1/runs/{id}/metric-series")).toBe(1);
    expect(countCalls(server.calls, "GET /api/v1/runs/{id}/logs")).toBe(1);
  });

  it("a point streamed while the snapshot was loading is kept", async () => {
    const { server, stream } = liveServer();
    const { queryClient } = renderPage(<RunPage />, { path: "/runs/r1", route: "/runs/:runId" });
    await waitFor(() => expect(countCalls(server.calls, "GET /api/v1/runs/{id}/events")).toBe(1), SOON);
    stream.send("open", "1.0.1.2", { cursor: "1.0.1.2" });
    stream.send("metrics", "1.1.5.2", { points: [{ key: "loss", step: 5, epoch: 0, value: 0.1, wall_time: 1005, attempt: 1 }] });
    await waitFor(() => expect(screen.getByTestId("chart-loss")).toHaveAttribute("data-drawn-points", "3"), SOON);
    expect(queryClient.getQueryData<SeriesData>(runKeys.series("r1"))?.points.loss.map((p) => p.step)).toEqual([0, 1, 5]);
  });
});
