import { useEffect, useMemo, useRef, useState } from "react";
import { Empty, ErrorBox, Loading } from "@/components/StatusViews";
import type { LogLine } from "../api/run";

export interface LogTailProps {
  lines: LogLine[];
  loading: boolean;
  error: Error | null;
}

const SHOW_AT_MOST = 2000;

export function LogTail({ lines, loading, error }: LogTailProps) {
  const [follow, setFollow] = useState(true);
  const [search, setSearch] = useState("");
  const box = useRef<HTMLPreElement>(null);

  const shown = useMemo(() => {
    const needle = search.toLowerCase();
    const matching = needle ? lines.filter((l) => l.text.toLowerCase().includes(needle)) : lines;
    return matching.slice(-SHOW_AT_MOST);
  }, [lines, search]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [shown, follow]);

  return (
    <section className="panel">
      <header className="panel-head">
        <h2>Logs</h2>
        <input
          aria-label="Search logs"
          placeholder="search logs"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <button type="button" onClick={() => setFollow((f) => !f)} aria-pressed={follow}>
          {follow ? "Pause" : "Follow"}
        </button>
        <span className="hint" data-testid="log-count">
          {lines.length} lines
        </span>
      </header>
      {error && <ErrorBox error={error} />}
      {loading && !lines.length ? (
        <Loading what="logs" />
      ) : !lines.length ? (
        <Empty>No log lines yet.</Empty>
      ) : (
        <pre ref={box} className="logs" data-testid="log-tail" onWheel={() => follow && setFollow(false)}>
          {shown.map((line) => (
            <div key={line.id} className={`log-${line.stream}`}>
              {line.text}
            </div>
          ))}
        </pre>
      )}
    </section>
  );
}
