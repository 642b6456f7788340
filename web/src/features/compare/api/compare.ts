import { unwrap, type Api } from "@/lib/api";
import type { Point } from "@/lib/charts/shape";
import type { CompareTable } from "../hooks/columns";

/** Which runs the page compares: chosen ids (?runs=) or the runs a filter matches (?filter=). */
export type Selection = { runIds: string[] } | { filter: string };

export const MAX_COMPARED = 1000;

export async function fetchCompareTable(api: Api, selection: Selection, signal?: AbortSignal): Promise<CompareTable> {
  const body = "runIds" in selection ? { run_ids: selection.runIds.slice(0, MAX_COMPARED), limit: MAX_COMPARED } : { filter: selection.filter, limit: MAX_COMPARED };
  return unwrap(await api.client.POST("/api/v1/runs/compare", { body, signal }));
}

/** Several metric series of one run in one request (only keys the run has: others are 404s). */
export async function fetchRunSeries(
  api: Api,
  runId: string,
  keys: string[],
  maxPoints: number,
  signal?: AbortSignal,
): Promise<Record<string, Point[]>> {
  const batch = unwrap(
    await api.client.GET("/api/v1/runs/{run_id}/metric-series", {
      params: { path: { run_id: runId }, query: { keys, max_points: maxPoints } },
      signal,
    }),
  );
  return Object.fromEntries(batch.series.map((s) => [s.key, s.points as Point[]]));
}
