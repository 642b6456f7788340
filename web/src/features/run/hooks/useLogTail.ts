/** The log tail: every line once, in order, fetched by cursor (`after` = last id seen). */
import { useCallback, useEffect, useRef, useState } from "react";
import { useApi } from "@/lib/api";
import { fetchLogs, type LogLine } from "../api/run";

const KEEP_LINES = 20_000;

export function useLogTail(runId: string, trigger: number, live: boolean, pollMs: number, enabled = true) {
  const api = useApi();
  const [lines, setLines] = useState<LogLine[]>([]);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);
  const cursor = useRef<number | null>(null);
  const busy = useRef(false);
  const again = useRef(false);

  const pull = useCallback(async () => {
    if (busy.current) {
      again.current = true; // coalesce: one more pass after this one
      return;
    }
    busy.current = true;
    try {
      do {
        again.current = false;
        for (;;) {
          const page = await fetchLogs(api, runId, cursor.current);
          if (page.lines.length) {
            cursor.current = page.lines[page.lines.length - 1].id;
            setLines((old) => {
              const next = old.concat(page.lines);
              return next.length > KEEP_LINES ? next.slice(next.length - KEEP_LINES) : next;
            });
          }
          if (page.next_after === null || !page.lines.length) break;
        }
      } while (again.current);
      setError(null);
    } catch (err) {
      setError(err as Error);
    } finally {
      busy.current = false;
      setLoading(false);
    }
  }, [api, runId]);

  useEffect(() => {
    cursor.current = null;
    setLines([]);
    setLoading(true);
  }, [runId]);

  useEffect(() => {
    if (enabled) void pull();
  }, [pull, trigger, enabled]);

  const failed = error !== null;
  useEffect(() => {
    // Live runs poll; a finished run's log retries only after a failed load.
    if ((!live && !failed) || !enabled) return;
    const timer = setInterval(() => void pull(), pollMs);
    return () => clearInterval(timer);
  }, [live, failed, pull, pollMs, enabled]);

  return { lines, error, loading };
}
