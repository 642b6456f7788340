import { unwrap, type Api, type Schemas } from "@/lib/api";
import { finalValue, type Point } from "@/lib/charts/shape";

export type Run = Schemas["RunDetail"];

export interface ComparedRun {
  run: Run;
  keys: string[];
  /** Final value of every metric key. */
  finals: Record<string, number | null>;
}

export async function fetchCompared(api: Api, ids: string[], signal?: AbortSignal): Promise<ComparedRun[]> {
  return Promise.all(
    ids.map(async (id) => {
      const run = unwrap(await api.client.GET("/api/v1/runs/{run_id}", { params: { path: { run_id: id } }, signal }));
      const keys = unwrap(
        await api.client.GET("/api/v1/runs/{run_id}/metrics", { params: { path: { run_id: id } }, signal }),
      ).keys;
      // The last few points of each series are enough for its final value.
      const finals: Record<string, number | null> = {};
      await Promise.all(
        keys.map(async (key) => {
          finals[key] = finalValue(await fetchSeries(api, id, key, 3, signal));
        }),
      );
      return { run, keys, finals };
    }),
  );
}

export async function fetchSeries(api: Api, runId: string, key: string, maxPoints: number, signal?: AbortSignal): Promise<Point[]> {
  const result = unwrap(
    await api.client.GET("/api/v1/runs/{run_id}/metrics/{key}", {
      params: { path: { run_id: runId, key }, query: { max_points: maxPoints } },
      signal,
    }),
  );
  // The route also streams full CSV exports (resolution=full); this call asks for JSON.
  if (typeof result === "string") throw new Error("expected a JSON metric series");
  return result.points;
}
