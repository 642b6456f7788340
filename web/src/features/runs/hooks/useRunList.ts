/** The runs list: pages loaded on demand by cursor, kept live by polling the runs that can
 * still change (queued, scheduled, running) instead of reloading everything. */
import { useCallback, useEffect, useRef, useState } from "react";
import { useApi } from "@/lib/api";
import { ACTIVE_STATES, fetchActiveRuns, fetchRun, fetchRunPage, type Run, type RunFilters } from "../api/runs";
import { mergeRuns } from "./mergeRuns";

export interface RunList {
  rows: Run[];
  loading: boolean;
  error: Error | null;
  hasMore: boolean;
  loadMore: () => void;
}

export function useRunList(filters: RunFilters, pollMs = 2000): RunList {
  const api = useApi();
  const [rows, setRows] = useState<Run[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(true);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error | null>(null);
  const inFlight = useRef(false);
  const firstPageLoaded = useRef(false);
  const generation = useRef(0);
  const key = JSON.stringify(filters);

  const loadPage = useCallback(
    async (from: string | null, gen: number) => {
      inFlight.current = true;
      setLoading(true);
      try {
        const page = await fetchRunPage(api, filters, from);
        if (gen !== generation.current) return;
        if (from === null) firstPageLoaded.current = true;
        setRows((old) => (from === null ? page.items : [...old, ...page.items]));
        setCursor(page.next_cursor);
        setHasMore(page.next_cursor !== null);
        setError(null);
      } catch (err) {
        if (gen === generation.current) setError(err as Error);
      } finally {
        if (gen === generation.current) {
          inFlight.current = false;
          setLoading(false);
        }
      }
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [api, key],
  );

  useEffect(() => {
    generation.current += 1;
    firstPageLoaded.current = false;
    setRows([]);
    setHasMore(true);
    void loadPage(null, generation.current);
  }, [loadPage]);

  const loadMore = useCallback(() => {
    if (!inFlight.current && hasMore && cursor) void loadPage(cursor, generation.current);
  }, [cursor, hasMore, loadPage]);

  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  useEffect(() => {
    const timer = setInterval(async () => {
      const gen = generation.current;
      if (!firstPageLoaded.current) {
        // The first page failed (server down, say): retry it rather than only the live part.
        if (!inFlight.current) void loadPage(null, gen);
        return;
      }
      try {
        const active = await fetchActiveRuns(api, filters);
        const activeIds = new Set(active.map((r) => r.id));
        // Runs we showed as active but that left the active set have finished: fetch those few.
        const finished = rowsRef.current.filter(
          (r) => ACTIVE_STATES.includes(r.state) && !activeIds.has(r.id),
        );
        const refreshed = await Promise.all(finished.slice(0, 50).map((r) => fetchRun(api, r.id)));
        if (gen !== generation.current) return;
        setRows((old) => mergeRuns(old, [...active, ...refreshed], filters.sort === "-created_at"));
        setError(null);
      } catch (err) {
        if (gen === generation.current) setError(err as Error);
      }
    }, pollMs);
    return () => clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, key, pollMs, loadPage]);

  return { rows, loading, error, hasMore, loadMore };
}
