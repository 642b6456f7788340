import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { fakeServer, json } from "@/test/fakeServer";
import { renderPage } from "@/test/renderWithApi";
import { groupRows } from "./groupRows";
import { nextSort } from "./RunsTable";
import { RunsPage } from "./RunsPage";

function run(id: string, experiment: string, columns: Record<string, unknown> = {}) {
  return {
    id,
    experiment_id: `e-${experiment}`,
    experiment_name: experiment,
    project_id: "p1",
    owner_id: "u-me",
    trial_index: 0,
    state: "completed",
    attempt: 1,
    params: {},
    priority: 0,
    worker_id: null,
    devices: [],
    created_at: "2024-01-01T00:00:00Z",
    queued_at: null,
    started_at: null,
    finished_at: null,
    cancel_requested_at: null,
    exit_reason: null,
    resume_checkpoint_id: null,
    tags: [],
    columns,
  };
}

const directory = {
  "GET /api/v1/projects": () => json([]),
};

const lastList = (calls: Request[]) => new URL(calls.filter((c) => c.url.includes("/api/v1/runs?")).at(-1)!.url);

afterEach(() => vi.unstubAllGlobals());

describe("runs list columns, sort, filter and groups", () => {
  it("adds a metric column, shows its values and sorts by it from the header", async () => {
    const server = fakeServer({
      ...directory,
      "GET /api/v1/runs": (_req, url) =>
        json({
          items: [run("r1", "digits", url.searchParams.get("columns") ? { "metrics.val_acc": 0.912345678 } : {})],
          columns: url.searchParams.get("columns") ? ["metrics.val_acc"] : [],
          next_cursor: null,
        }),
    });
    vi.stubGlobal("fetch", server.fetchImpl);
    renderPage(<RunsPage pollMs={60_000} />);
    await userEvent.type(await screen.findByLabelText("Add column"), "val_acc{Enter}");
    await waitFor(() => expect(lastList(server.calls).searchParams.get("columns")).toBe("metrics.val_acc"));
    const cell = await screen.findByText("0.91235");
    expect(cell).toHaveAttribute("data-column", "metrics.val_acc");
    await userEvent.click(screen.getByRole("button", { name: "val_acc" }));
    await waitFor(() => expect(lastList(server.calls).searchParams.get("sort")).toBe("-metrics.val_acc"));
    expect(screen.getByRole("columnheader", { name: /val_acc/ })).toHaveAttribute("aria-sort", "descending");
  });

  it("shows the server's 422 about the filter under the filter box", async () => {
    const message = "filter: expected a number, found '>' at character 18: metrics.val_acc >⟨here⟩> 0.9";
    const server = fakeServer({
      ...directory,
      "GET /api/v1/runs": (_req, url) =>
        url.searchParams.get("filter")
          ? json({ detail: [{ loc: ["query", "filter"], msg: message, type: "value_error" }] }, 422)
          : json({ items: [], next_cursor: null }),
    });
    vi.stubGlobal("fetch", server.fetchImpl);
    renderPage(<RunsPage pollMs={60_000} />);
    await userEvent.type(await screen.findByLabelText("Filter expression"), "metrics.val_acc >> 0.9{Enter}");
    expect(await screen.findByTestId("filter-error")).toHaveTextContent("at character 18");
    expect(screen.getByLabelText("Filter expression")).toHaveAttribute("aria-invalid", "true");
    expect(lastList(server.calls).searchParams.get("filter")).toBe("metrics.val_acc >> 0.9");
  });

  it("groups the runs under their experiment", async () => {
    vi.stubGlobal(
      "fetch",
      fakeServer({
        ...directory,
        "GET /api/v1/runs": () => json({ items: [run("a1", "search-a"), run("b1", "solo"), run("a2", "search-a")], next_cursor: null }),
      }).fetchImpl,
    );
    const { container } = renderPage(<RunsPage pollMs={60_000} />);
    await userEvent.click(await screen.findByLabelText("group by experiment"));
    await waitFor(() => expect(container.querySelectorAll("[data-group]").length).toBe(2));
    const group = container.querySelector('[data-group="e-search-a"]') as HTMLElement;
    expect(within(group).getByText("search-a")).toBeInTheDocument();
    expect(group).toHaveTextContent("2 runs");
  });
});

describe("pure helpers", () => {
  it("sorts a new column descending first, then toggles", () => {
    expect(nextSort("-created_at", "metrics.acc")).toBe("-metrics.acc");
    expect(nextSort("-metrics.acc", "metrics.acc")).toBe("metrics.acc");
    expect(nextSort("metrics.acc", "metrics.acc")).toBe("-metrics.acc");
  });

  it("keeps the server's order inside and across groups", () => {
    const rows = [run("a1", "A", { "metrics.x": 3 }), run("b1", "B", { "metrics.x": 2 }), run("a2", "A", { "metrics.x": 1 })];
    const items = groupRows(rows as never, "-metrics.x");
    expect(items.map((i) => (i.kind === "group" ? `[${i.name} ${String(i.best)}]` : i.run.id))).toEqual([
      "[A 3]",
      "a1",
      "a2",
      "[B 2]",
      "b1",
    ]);
  });
});
