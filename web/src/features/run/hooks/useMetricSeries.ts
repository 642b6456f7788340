/** Every metric series of a run: one snapshot request, then the stream's points (written into
 * the same cache entry by useRunLive). A zoomed chart holds its own finer window (fetched with
 * start/end) until the zoom is reset. */
import { useQueries, useQuery } from "@tanstack/react-query";
import { useCallback, useState } from "react";
import { useApi } from "@/lib/api";
import { fetchAllSeries, fetchSeries } from "../api/run";
import { runKeys } from "../api/queries";
import { mergePoints } from "../live/merge";
import { withPending, type Pending } from "../live/pending";

/** About two points per pixel of a chart: more cannot be seen, and each costs server time. */
export const MAX_POINTS = 800;

export function useMetricSeries(runId: string, options: { enabled: boolean; pending: Pending; pollMs: number | false }) {
  const api = useApi();
  const [zoom, setZoom] = useState<Record<string, [number, number]>>({});
  // One request for every chart (ten requests would queue behind each other on the server).
  const all = useQuery({
    queryKey: runKeys.series(runId),
    queryFn: async ({ signal }) =>
      withPending(await fetchAllSeries(api, runId, { maxPoints: MAX_POINTS, signal }), options.pending.series, mergePoints),
    enabled: options.enabled,
    staleTime: Infinity,
    refetchInterval: options.pollMs,
  });
  const zoomed = Object.entries(zoom);
  const windows = useQueries({
    queries: zoomed.map(([key, [start, end]]) => ({
      queryKey: runKeys.window(runId, key, start, end),
      queryFn: ({ signal }: { signal: AbortSignal }) => fetchSeries(api, runId, key, { maxPoints: MAX_POINTS, start, end, signal }),
      staleTime: Infinity,
    })),
  });

  const points = { ...(all.data?.points ?? {}) };
  zoomed.forEach(([key], i) => {
    const window = windows[i].data;
    if (window && key in points) points[key] = window;
  });
  const error = all.error ?? windows.find((w) => w.error)?.error ?? null;

  /** Zoom one chart to a step range (null: back to the whole run). */
  const zoomTo = useCallback((key: string, range: [number, number] | null) => {
    setZoom((old) => {
      const next = { ...old };
      if (range) next[key] = [Math.floor(range[0]), Math.ceil(range[1])];
      else delete next[key];
      return next;
    });
  }, []);

  return { keys: all.data?.keys ?? [], points, zoom, loading: all.isPending, error, zoomTo };
}
