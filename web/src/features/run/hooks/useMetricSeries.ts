/** Every metric series of a run, refreshed while it trains; a zoomed chart holds its own
 * finer window (fetched with start/end) until the zoom is reset. */
import { useCallback, useEffect, useRef, useState } from "react";
import { useApi } from "@/lib/api";
import type { Point } from "@/lib/charts/shape";
import { fetchAllSeries, fetchSeries } from "../api/run";

/** About two points per pixel of a chart: more cannot be seen, and each costs server time. */
export const MAX_POINTS = 800;

export interface SeriesState {
  keys: string[];
  points: Record<string, Point[]>;
  zoom: Record<string, [number, number]>;
  loading: boolean;
  error: Error | null;
}

export function useMetricSeries(runId: string, trigger: number, live: boolean, pollMs: number) {
  const api = useApi();
  const [state, setState] = useState<SeriesState>({ keys: [], points: {}, zoom: {}, loading: true, error: null });
  const zoomRef = useRef(state.zoom);
  zoomRef.current = state.zoom;
  const busy = useRef(false);

  const refresh = useCallback(async () => {
    if (busy.current) return;
    busy.current = true;
    try {
      // One request for every chart (ten requests would queue behind each other on the
      // server); only a zoomed chart then refetches its own window.
      const { keys, points } = await fetchAllSeries(api, runId, { maxPoints: MAX_POINTS });
      const zoomed = Object.entries(zoomRef.current).filter(([key]) => key in points);
      const windows = await Promise.all(
        zoomed.map(async ([key, [start, end]]) => {
          const window = await fetchSeries(api, runId, key, { maxPoints: MAX_POINTS, start, end });
          return [key, window] as const;
        }),
      );
      Object.assign(points, Object.fromEntries(windows));
      setState((old) => ({ ...old, keys, points, loading: false, error: null }));
    } catch (err) {
      setState((old) => ({ ...old, loading: false, error: err as Error }));
    } finally {
      busy.current = false;
    }
  }, [api, runId]);

  useEffect(() => {
    void refresh();
  }, [refresh, trigger]);

  // Live runs poll; a finished run's charts retry only after a failed load (lost connection).
  const failed = state.error !== null;
  useEffect(() => {
    if (!live && !failed) return;
    const timer = setInterval(() => void refresh(), pollMs);
    return () => clearInterval(timer);
  }, [live, failed, refresh, pollMs]);

  /** Zoom one chart to a step range (null: back to the whole run). */
  const zoomTo = useCallback(
    async (key: string, range: [number, number] | null) => {
      const start = range ? Math.floor(range[0]) : undefined;
      const end = range ? Math.ceil(range[1]) : undefined;
      try {
        const points = await fetchSeries(api, runId, key, { maxPoints: MAX_POINTS, start, end });
        setState((old) => {
          const zoom = { ...old.zoom };
          if (range) zoom[key] = [start!, end!];
          else delete zoom[key];
          return { ...old, zoom, points: { ...old.points, [key]: points } };
        });
      } catch (err) {
        setState((old) => ({ ...old, error: err as Error }));
      }
    },
    [api, runId],
  );

  return { ...state, zoomTo };
}
