import { createApi } from "@/lib/api";
import { fakeServer, json } from "@/test/fakeServer";
import { fetchAllSeries } from "./run";

afterEach(() => vi.unstubAllGlobals());

const hooks = { getToken: () => "ry_user_abc", onUnauthorized: vi.fn(), onConnection: vi.fn() };
const point = (step: number) => ({ step, value: step / 10, epoch: 0, wall_time: 1e9 + step });

describe("fetchAllSeries", () => {
  it("gets every chart's series in one request and keys them by metric", async () => {
    const server = fakeServer({
      "GET /api/v1/runs/{run_id}/metric-series": () =>
        json({
          run_id: "r1",
          max_points: 800,
          series: [
            { run_id: "r1", key: "train/loss", max_points: 800, downsampled: false, points: [point(0), point(1)] },
            { run_id: "r1", key: "val/acc", max_points: 800, downsampled: false, points: [point(5)] },
          ],
        }),
    });
    vi.stubGlobal("fetch", server.fetchImpl);
    const result = await fetchAllSeries(createApi(hooks, "http://test"), "r1", { maxPoints: 800 });
    expect(server.calls).toHaveLength(1);
    expect(new URL(server.calls[0].url).searchParams.get("max_points")).toBe("800");
    expect(result.keys).toEqual(["train/loss", "val/acc"]);
    expect(result.points["val/acc"]).toEqual([point(5)]);
  });
});
