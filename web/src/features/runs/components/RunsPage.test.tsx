import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { fakeServer, json } from "@/test/fakeServer";
import { renderPage } from "@/test/renderWithApi";
import { RunsPage } from "./RunsPage";

function run(id: string, state: string, name = "digits") {
  return {
    id,
    experiment_id: "e1",
    experiment_name: name,
    project_id: "p1",
    owner_id: "u-me",
    trial_index: 0,
    state,
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
  };
}

const directory = {
  "GET /api/v1/projects": () => json([{ id: "p1", name: "vision", description: "", role: "admin", created_at: "" }]),
  "GET /api/v1/projects/{id}/members": () => json([{ user_id: "u-me", email: "me@example.test", name: "me", role: "admin" }]),
};

afterEach(() => vi.unstubAllGlobals());

describe("RunsPage", () => {
  it("shows the runs with their project and owner names", async () => {
    vi.stubGlobal(
      "fetch",
      fakeServer({ ...directory, "GET /api/v1/runs": () => json({ items: [run("r1", "running")], next_cursor: null }) }).fetchImpl,
    );
    renderPage(<RunsPage pollMs={60_000} />);
    const row = await screen.findByText("digits", { exact: false });
    const cells = within(row.closest('[role="row"]') as HTMLElement);
    expect(await cells.findByText("vision")).toBeInTheDocument();
    expect(cells.getByText("me@example.test")).toBeInTheDocument();
    expect(cells.getByText("running")).toBeInTheDocument();
  });

  it("says so when no run matches, with a way forward", async () => {
    vi.stubGlobal("fetch", fakeServer({ ...directory, "GET /api/v1/runs": () => json({ items: [], next_cursor: null }) }).fetchImpl);
    renderPage(<RunsPage pollMs={60_000} />);
    expect(await screen.findByText(/No runs match/)).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Submit an experiment" })).toBeInTheDocument();
  });

  it("sends the state filter and the search text to the server", async () => {
    const server = fakeServer({ ...directory, "GET /api/v1/runs": () => json({ items: [], next_cursor: null }) });
    vi.stubGlobal("fetch", server.fetchImpl);
    renderPage(<RunsPage pollMs={60_000} />);
    await userEvent.selectOptions(await screen.findByLabelText("State"), "failed");
    await userEvent.type(screen.getByLabelText("Search runs"), "mnist");
    await waitFor(() => {
      const last = new URL(server.calls.filter((c) => c.url.includes("/api/v1/runs?")).at(-1)!.url);
      expect(last.searchParams.get("state")).toBe("failed");
      expect(last.searchParams.get("q")).toBe("mnist");
    });
  });

  it("updates a run's state live without reloading the list", async () => {
    let state = "running";
    vi.stubGlobal(
      "fetch",
      fakeServer({
        ...directory,
        "GET /api/v1/runs": (_req, url) =>
          url.searchParams.getAll("state").length > 1
            ? json({ items: state === "running" ? [run("r1", "running")] : [], next_cursor: null })
            : json({ items: [run("r1", "running")], next_cursor: null }),
        "GET /api/v1/runs/{id}": () => json({ ...run("r1", state), spec: {}, traceback: null, transitions: [] }),
      }).fetchImpl,
    );
    const { container } = renderPage(<RunsPage pollMs={30} />);
    await waitFor(() => expect(container.querySelector('[data-run-id="r1"]')).toHaveAttribute("data-state", "running"));
    state = "completed";
    await waitFor(() => expect(container.querySelector('[data-run-id="r1"]')).toHaveAttribute("data-state", "completed"));
  });

  it("loads the next page by cursor when scrolled near the end", async () => {
    const server = fakeServer({
      ...directory,
      "GET /api/v1/runs": (_req, url) =>
        url.searchParams.get("cursor")
          ? json({ items: [run("last", "queued", "page-two")], next_cursor: null })
          : json({ items: Array.from({ length: 5 }, (_, i) => run(`r${i}`, "completed")), next_cursor: "c1" }),
    });
    vi.stubGlobal("fetch", server.fetchImpl);
    renderPage(<RunsPage pollMs={60_000} />);
    expect(await screen.findByText("page-two", { exact: false })).toBeInTheDocument();
    expect(server.calls.some((c) => new URL(c.url).searchParams.get("cursor") === "c1")).toBe(true);
  });
});

describe("RunsPage after an outage", () => {
  it("loads the first page once the server answers again", async () => {
    let up = false;
    const server = fakeServer({ ...directory, "GET /api/v1/runs": () => json({ items: [run("r9", "queued", "late")], next_cursor: null }) });
    vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
      if (!up) throw new TypeError("Failed to fetch");
      return server.fetchImpl(input, init);
    });
    renderPage(<RunsPage pollMs={30} />);
    expect(await screen.findByRole("alert")).toHaveTextContent("Failed to fetch");
    up = true;
    expect(await screen.findByText("late", { exact: false })).toBeInTheDocument();
  });
});
