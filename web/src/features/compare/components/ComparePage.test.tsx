import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { fakeServer, json } from "@/test/fakeServer";
import { renderPage } from "@/test/renderWithApi";
import { ComparePage } from "./ComparePage";

// uPlot needs a canvas, which jsdom lacks: the chart itself is covered by the browser tests.
vi.mock("@/lib/charts/UPlotChart", () => ({
  UPlotChart: (props: { title: string; seriesLabels: string[] }) => (
    <div data-testid={`chart-${props.title}`}>{props.seriesLabels.join(", ")}</div>
  ),
}));

afterEach(() => vi.unstubAllGlobals());

const detail = (id: string, lr: number) => ({
  id,
  experiment_name: "sweep",
  state: "completed",
  params: { lr },
  spec: {},
  transitions: [],
});
const finals: Record<string, number> = { a: 0.9, b: 0.5, c: 0.7 };

describe("ComparePage", () => {
  it("sorts the hyperparameter table by a final metric", async () => {
    vi.stubGlobal(
      "fetch",
      fakeServer({
        "GET /api/v1/runs": () => json({ items: [], next_cursor: null }),
        "GET /api/v1/runs/{id}/metrics/{key}": (req) => {
          const id = new URL(req.url).pathname.split("/")[4];
          return json({ points: [{ step: 1, value: finals[id], epoch: 0, wall_time: 1 }] });
        },
        "GET /api/v1/runs/{id}/metrics": () => json({ keys: ["val_acc"] }),
        "GET /api/v1/runs/{id}": (req) => {
          const id = new URL(req.url).pathname.split("/").pop()!;
          return json(detail(id, { a: 0.1, b: 0.01, c: 0.001 }[id]!));
        },
      }).fetchImpl,
    );
    renderPage(<ComparePage />, { path: "/?runs=a,b,c" });
    const table = await screen.findByRole("table", { name: "Comparison" });
    await userEvent.click(within(table).getByRole("button", { name: /val_acc/ }));
    const order = () => within(table).getAllByRole("row").slice(1).map((r) => r.querySelector("td:nth-child(3)")!.textContent);
    expect(order()).toEqual(["0.01", "0.001", "0.1"]);
    await userEvent.click(within(table).getByRole("button", { name: /val_acc/ }));
    expect(order()).toEqual(["0.1", "0.001", "0.01"]);
  });

  it("overlays the chosen metric of every run in one chart", async () => {
    vi.stubGlobal(
      "fetch",
      fakeServer({
        "GET /api/v1/runs": () => json({ items: [], next_cursor: null }),
        "GET /api/v1/runs/{id}/metrics/{key}": () => json({ points: [{ step: 1, value: 1, epoch: 0, wall_time: 1 }] }),
        "GET /api/v1/runs/{id}/metrics": () => json({ keys: ["val_acc"] }),
        "GET /api/v1/runs/{id}": (req) => json(detail(new URL(req.url).pathname.split("/").pop()!, 0.1)),
      }).fetchImpl,
    );
    renderPage(<ComparePage />, { path: "/?runs=aaaaaaaa1,bbbbbbbb2" });
    expect(await screen.findByTestId("chart-val_acc")).toHaveTextContent("sweep aaaaaaaa, sweep bbbbbbbb");
  });
});
