import { screen, within } from "@testing-library/react";
import { fakeServer, json } from "@/test/fakeServer";
import { renderPage } from "@/test/renderWithApi";
import { ClusterPage } from "./ClusterPage";

afterEach(() => vi.unstubAllGlobals());

const cluster = {
  workers: [
    {
      id: "w",
      name: "gpu-1",
      hostname: "gpu-1",
      state: "online",
      alive: true,
      seconds_since_heartbeat: 1,
      gpu_names: ["A100", "A100"],
      slots: [
        { slot: "0", holder: { run_id: "r1", experiment_name: "resnet", owner: "ann@x", project: "vision", state: "running" } },
        { slot: "1", holder: { run_id: null, experiment_name: null, owner: null, project: null, state: "running" } },
      ],
    },
  ],
  queue: [
    { position: 1, run_id: "r2", experiment_name: "bert", owner: "bob@x", project: "nlp", priority: 5, slots: 2, nodes: 1, queued_at: "2024-01-01T00:00:00Z", user_position: 1, reason: "reserved", note: "holding gpu-1", wait_seconds: 125 },
    { position: 2, run_id: null, experiment_name: null, owner: null, project: null, priority: 0, slots: 1, nodes: 1, queued_at: "2024-01-01T00:00:00Z", user_position: 1, reason: "no_node_with_free_slots", note: "no worker has 1 free slot(s)", wait_seconds: null },
  ],
  queue_total: 2,
  users: [{ user: "ann@x", recent_gpu_seconds: 7200, share: 0.75, slots_in_use: 1, quota: 4 }],
  fair_share_window_seconds: 604800,
};

describe("ClusterPage", () => {
  it("shows who holds each slot, hiding other teams' runs", async () => {
    vi.stubGlobal("fetch", fakeServer({ "GET /api/v1/cluster": () => json(cluster) }).fetchImpl);
    renderPage(<ClusterPage pollMs={60_000} />);
    const worker = within(await screen.findByTestId("worker-gpu-1"));
    expect(worker.getByRole("link", { name: /resnet · ann@x · vision/ })).toBeInTheDocument();
    expect(worker.getByText("another team")).toBeInTheDocument();
  });

  it("lists the queue in scheduling order with priorities and why each run waits", async () => {
    vi.stubGlobal("fetch", fakeServer({ "GET /api/v1/cluster": () => json(cluster) }).fetchImpl);
    renderPage(<ClusterPage pollMs={60_000} />);
    const rows = within(await screen.findByRole("table", { name: "Queue" })).getAllByRole("row");
    expect(rows[1]).toHaveTextContent("bert");
    expect(rows[1]).toHaveTextContent("reserved");
    expect(rows[1]).toHaveTextContent("~2m05s");
    expect(rows[2]).toHaveTextContent("no node with free slots");
    expect(rows[2]).toHaveTextContent("unknown");
    expect(rows[2]).toHaveTextContent("another team");
  });

  it("shows each user's share and quota", async () => {
    vi.stubGlobal("fetch", fakeServer({ "GET /api/v1/cluster": () => json(cluster) }).fetchImpl);
    renderPage(<ClusterPage pollMs={60_000} />);
    const row = within(await screen.findByRole("table", { name: "Shares" })).getAllByRole("row")[1];
    expect(row).toHaveTextContent("75.0%");
    expect(row).toHaveTextContent("2.00");
    expect(row).toHaveTextContent("4");
  });

  it("shows the server's error", async () => {
    vi.stubGlobal("fetch", fakeServer({ "GET /api/v1/cluster": () => json({ detail: "database unavailable" }, 503) }).fetchImpl);
    renderPage(<ClusterPage pollMs={60_000} />);
    expect(await screen.findByRole("alert")).toHaveTextContent("database unavailable");
  });
});
